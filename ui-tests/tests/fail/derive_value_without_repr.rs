use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub enum Origin {
    #[lua(value = 0)]
    Igp,
    Egp,
}

fn main() {}
