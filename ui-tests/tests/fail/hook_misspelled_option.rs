use frrhook::hook_point;

#[hook_point(name = "bgp.route_match", reslts(action: Option<u8>))]
fn route_match(prefix: &str);

fn main() {}
