use frrhook::{Runtime, hook_point};

// `get` reads keys a hook does not declare; only a hook whose `results(...)` ends with
// `..` keeps the returned tables it would read them from.
#[hook_point(name = "vrrp.priority", results(reason: Option<String>))]
fn vrrp_priority(priority: &mut u8);

fn main() {
    let rt = Runtime::builder().build();
    let mut priority = 100;
    let r = vrrp_priority(&rt, &mut priority).unwrap();
    let _ = r.get::<String>("note");
    let _ = r.tables();
}
