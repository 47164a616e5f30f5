use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
#[lua(repr = "int")]
pub enum Origin {
    Igp,
    Egp,
}

fn main() {}
