use frrhook::hook_point;

#[hook_point(consts(HUGE = 9223372036854775808))]
fn route_match(prefix: &str);

fn main() {}
