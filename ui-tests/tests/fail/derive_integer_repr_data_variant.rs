use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
#[lua(repr = "integer")]
pub enum Action {
    Deny,
    Permit,
    SetMetric(u32),
}

fn main() {}
