use frrhook::codec::LuaEncode;
use frrhook::hook_point;

#[hook_point]
fn log_value(value: &impl LuaEncode);

fn main() {}
