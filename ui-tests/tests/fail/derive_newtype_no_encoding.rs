use frrhook::codec::LuaCodec;

pub struct Raw(Vec<u8>);

#[derive(LuaCodec)]
pub struct Wrapper(Raw);

fn main() {}
