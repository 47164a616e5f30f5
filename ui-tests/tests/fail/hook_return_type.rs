use frrhook::hook_point;

#[hook_point]
fn permit(prefix: &str) -> bool;

fn main() {}
