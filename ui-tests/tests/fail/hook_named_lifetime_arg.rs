use frrhook::hook_point;

#[hook_point]
fn route_match(prefix: &'a str);

fn main() {}
