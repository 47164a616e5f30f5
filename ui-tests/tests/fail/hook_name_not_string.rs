use frrhook::hook_point;

#[hook_point(name = bgp.route_match)]
fn route_match(prefix: &str);

fn main() {}
