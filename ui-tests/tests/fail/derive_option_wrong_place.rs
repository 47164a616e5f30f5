use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
#[lua(skip)]
pub struct Route {
    pub prefix: String,
}

fn main() {}
