use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub struct Route {
    pub metric: u32,
    #[lua(rename = "metric")]
    pub cost: u32,
}

fn main() {}
