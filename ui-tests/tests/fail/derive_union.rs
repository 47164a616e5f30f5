use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub union Address {
    v4: u32,
    v6: u128,
}

fn main() {}
