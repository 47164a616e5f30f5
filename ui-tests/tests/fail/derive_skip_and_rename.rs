use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub struct Route {
    pub prefix: String,
    #[lua(skip, rename = "cache")]
    pub cached_hash: u64,
}

fn main() {}
