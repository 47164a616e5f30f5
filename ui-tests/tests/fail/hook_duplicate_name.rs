use frrhook::hook_point;

#[hook_point(name = "bgp.route_match")]
fn route_match(prefix: &str);

mod ospf {
    use frrhook::hook_point;

    #[hook_point(name = "bgp.route_match")]
    pub fn route_match(prefix: &str, metric: u32);
}

fn main() {}
