use frrhook::hook_point;

#[hook_point(results(reason: Option<&'static str>))]
fn classify(prefix: &str);

fn main() {}
