use frrhook::codec::{LuaCodec, LuaDecode, LuaEncode};
use frrhook::hook_point;

// The one real mistake: `skip` takes no value.
#[derive(LuaCodec)]
pub struct Route {
    pub prefix: String,
    #[lua(skip = true)]
    pub cache: u64,
}

// The type is still usable as a hook argument and in generic code.
#[hook_point]
fn route_match(route: &mut Route);

fn needs_codec<T: LuaEncode + LuaDecode>() {}

fn main() {
    needs_codec::<Route>();
}
