use frrhook::hook_point;

pub struct Daemon;

impl Daemon {
    #[hook_point]
    fn on_event(&self, code: u32);
}

fn main() {}
