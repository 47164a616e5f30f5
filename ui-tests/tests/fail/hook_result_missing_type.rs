use frrhook::hook_point;

#[hook_point(results(action, reason: Option<String>))]
fn route_match(prefix: &str);

fn main() {}
