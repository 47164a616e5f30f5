use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
#[lua(rename_all = "snake-case", tag = "kind")]
pub struct Route {
    #[lua(skip, default)]
    pub metric: u32,
    #[lua(rename = 5)]
    pub preference: u32,
}

fn main() {}
