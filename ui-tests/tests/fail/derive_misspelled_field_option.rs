use frrhook::codec::LuaCodec;

#[derive(LuaCodec)]
pub struct Route {
    #[lua(renam = "local_pref")]
    pub preference: u32,
}

fn main() {}
