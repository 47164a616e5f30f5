use frrhook::hook_point;

#[hook_point(crate = "frrhook")]
fn route_match(prefix: &str);

fn main() {}
