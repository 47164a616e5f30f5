use frrhook::hook_point;

#[hook_point(results(local_pref: u32 = "100"))]
fn set_local_pref(prefix: &str);

fn main() {}
