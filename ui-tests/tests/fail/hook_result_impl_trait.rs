use frrhook::hook_point;

#[hook_point(results(reason: Option<impl ToString>))]
fn route_match(prefix: &str);

fn main() {}
