use frrhook::hook_point;

#[hook_point(consts(MATCH = 1, prefix = 2))]
fn route_match(prefix: &str);

fn main() {}
