use frrhook::hook_point;

#[hook_point]
fn route_match(#[allow(unused)] prefix: &str);

fn main() {}
