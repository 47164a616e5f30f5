use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub struct Route {
    pub prefix: String,
    #[lua(flatten)]
    pub attributes: Vec<u32>,
}

fn main() {}
