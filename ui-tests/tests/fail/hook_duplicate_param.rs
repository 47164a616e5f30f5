use frrhook::hook_point;

#[hook_point]
fn route_match(prefix: &str, metric: u32, prefix: String);

fn main() {}
