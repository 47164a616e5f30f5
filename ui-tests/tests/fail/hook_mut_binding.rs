use frrhook::hook_point;

#[hook_point]
fn route_match(mut metric: u32);

fn main() {}
