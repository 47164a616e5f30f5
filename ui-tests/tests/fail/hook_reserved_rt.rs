use frrhook::hook_point;

#[hook_point]
fn route_match(rt: &str);

fn main() {}
