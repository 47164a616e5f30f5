use frrhook::hook_point;

pub enum Verdict {
    Accept,
    Reject,
}

#[hook_point(results(verdict: Option<Verdict>))]
fn filter(prefix: &str);

fn main() {}
