use frrhook::{Runtime, hook_point};

#[hook_point]
fn route_match(prefix: &str, metric: &mut u32);

fn main() {
    let rt = Runtime::builder().build();
    // Forgot the runtime, and passed the metric by value.
    let _ = route_match("10.0.0.0/8", 10);
    let _ = rt;
}
