use frrhook::hook_point;

#[hook_point]
unsafe extern "C" fn route_match(prefix: u32);

fn main() {}
