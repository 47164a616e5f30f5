use frrhook::codec::LuaCodec;

pub struct Nexthop {
    pub gateway: String,
}

pub struct Peer {
    pub address: String,
}

// Two fields whose types have no codec: each is reported on its field. The decoding
// error also shows on the derive line, which no one field can be blamed for (with a single
// such field, as in derive_field_no_decoding.rs, it does not).
#[derive(LuaCodec)]
pub struct Route {
    pub prefix: String,
    pub nexthop: Nexthop,
    pub peer: Peer,
}

fn main() {}
