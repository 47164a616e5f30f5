use frrhook::hook_point;

pub struct Peer;

#[hook_point(results(action: u8))]
fn route_match(_: &str, rt: u32, mut metric: u32, source: impl Into<String>, peer: &Peer);

fn main() {}
