use frrhook::{Runtime, hook_point};

// The one real mistake: `color` is not a hook option.
#[hook_point(color = "blue", results(action: Option<u8>))]
fn route_match(prefix: &str, metric: &mut u32);

fn main() {
    // Everything below uses the hook correctly and must not add errors of its own.
    let rt = Runtime::builder().build();
    let mut metric = 10;
    let results = route_match(&rt, "10.0.0.0/8", &mut metric).unwrap();
    let action: Option<u8> = results.action;
    println!("{action:?} {}", RouteMatchArgs::hook().name);
}
