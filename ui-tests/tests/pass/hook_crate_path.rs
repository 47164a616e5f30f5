//! A crate that re-exports frrhook under another path, as a daemon framework would.
mod framework {
    pub use frrhook as hooks;
}

use framework::hooks::codec::LuaCodec;

#[derive(Debug, LuaCodec)]
#[lua(crate = "framework::hooks::codec")]
pub struct Event {
    pub code: u32,
}

/// Declared through the re-export only.
#[framework::hooks::hook_point(crate = framework::hooks, results(ok: bool = true))]
pub fn on_event(event: &Event);

fn main() {
    let rt = framework::hooks::Runtime::builder().build();
    let r = on_event(&rt, &Event { code: 1 }).unwrap();
    assert!(r.ok);
}
