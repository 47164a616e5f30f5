use frrhook::hook_point;

/// A type that was never given a Lua encoding.
pub struct Peer {
    pub address: String,
}

#[hook_point]
fn peer_up(peer: &Peer);

fn main() {}
