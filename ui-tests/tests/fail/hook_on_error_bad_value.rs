use frrhook::hook_point;

#[hook_point(on_error = fail_open)]
fn route_match(prefix: &str);

fn main() {}
