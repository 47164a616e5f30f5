use frrhook::hook_point;

#[hook_point]
fn inspect<T>(value: &T);

fn main() {}
