use frrhook::hook_point;

#[hook_point]
fn route_match(prefix: &str) {
    println!("{prefix}");
}

fn main() {}
