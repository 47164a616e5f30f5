use frrhook::hook_point;

#[hook_point(results(metric: u32))]
fn compute_metric(prefix: &str);

fn main() {}
