use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub struct Community(u16, u16);

fn main() {}
