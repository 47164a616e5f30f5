use frrhook::hook_point;

#[hook_point(results(metric: Option<u32>))]
fn route_match(prefix: &str, metric: &mut u32);

fn main() {}
