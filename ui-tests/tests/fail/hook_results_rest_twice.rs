use frrhook::hook_point;

#[hook_point(name = "vrrp.priority", results(reason: Option<String>, .., ..))]
fn vrrp_priority(priority: &mut u8);

fn main() {}
