use frrhook::codec::{LuaEncode, mlua};
use frrhook::hook_point;

/// Can be handed to Lua, but not read back.
pub struct Counters {
    pub packets: u64,
}

impl LuaEncode for Counters {
    fn encode(&self, lua: &mlua::Lua) -> mlua::Result<mlua::Value> {
        self.packets.encode(lua)
    }
}

#[hook_point]
fn adjust(counters: &mut Counters);

fn main() {}
