use frrhook::hook_point;

#[hook_point(name = "bgp route match")]
fn route_match(prefix: &str);

fn main() {}
