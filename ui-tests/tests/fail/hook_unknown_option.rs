use frrhook::hook_point;

#[hook_point(name = "bgp.update", priority = 10)]
fn update(prefix: &str);

fn main() {}
