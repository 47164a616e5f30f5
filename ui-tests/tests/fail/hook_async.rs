use frrhook::hook_point;

#[hook_point]
async fn route_added(prefix: &str);

fn main() {}
