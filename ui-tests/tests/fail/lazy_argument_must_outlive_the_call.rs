// The runtime's lazy tables point at the hook's arguments until the call ends: only a
// value borrowed as long as the arguments struct can be passed lazily, never a
// temporary (what `#[hook_point]` generates passes the struct's own fields).
use frrhook::__private::{Lazy, push_ref_arg};
use frrhook::codec::raw::RawCx;

#[derive(Clone, frrhook::LuaCodec)]
pub struct Peer {
    pub remote_as: u32,
}

fn push<'s>(cx: &RawCx<'_>, lazy: &Lazy<'s>) {
    let _ = push_ref_arg(cx, Some(lazy), "peer", &*Box::new(Peer { remote_as: 1 }));
}

fn main() {}
