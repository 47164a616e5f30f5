use frrhook::hook_point;

#[hook_point]
fn rewrite(communities: &mut Vec<&str>);

fn main() {}
