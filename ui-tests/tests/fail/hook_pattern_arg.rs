use frrhook::hook_point;

#[hook_point]
fn pair((low, high): (u32, u32));

fn main() {}
