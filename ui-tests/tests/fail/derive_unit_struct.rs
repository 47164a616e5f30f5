use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub struct Marker;

fn main() {}
