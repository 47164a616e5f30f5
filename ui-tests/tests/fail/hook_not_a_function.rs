use frrhook::hook_point;

#[hook_point]
struct RouteMatch {
    prefix: String,
}

fn main() {}
