use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub enum Never {}

fn main() {}
