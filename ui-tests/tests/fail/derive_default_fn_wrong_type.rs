use frrhook::codec::LuaCodec;

fn default_metric() -> String {
    "10".to_owned()
}

#[derive(LuaCodec)]
pub struct Route {
    #[lua(default = "default_metric")]
    pub metric: u32,
}

fn main() {}
