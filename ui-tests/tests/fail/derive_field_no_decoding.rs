use frrhook::codec::LuaCodec;

pub struct Nexthop {
    pub gateway: String,
}

#[derive(LuaCodec)]
pub struct Route {
    pub prefix: String,
    pub nexthop: Nexthop,
}

fn main() {}
