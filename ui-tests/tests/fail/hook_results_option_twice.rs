use frrhook::hook_point;

#[hook_point(results(action: Option<u8>), results(reason: Option<String>))]
fn route_match(prefix: &str);

fn main() {}
