use frrhook::codec::LuaCodec;

/// No `Default`: a skipped field of this type cannot be filled in when decoding.
pub struct Cache {
    pub hits: u64,
}

#[derive(LuaCodec)]
pub struct Route {
    pub prefix: String,
    #[lua(skip)]
    pub cache: Cache,
}

fn main() {}
