use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub enum Nexthop {
    Blackhole,
    Gateway(String, u32),
}

fn main() {}
