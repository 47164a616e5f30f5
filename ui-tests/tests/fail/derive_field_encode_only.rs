use frrhook::codec::{LuaCodec, LuaEncode, mlua};

/// Can be handed to Lua, but not read back.
pub struct Counters(u64);

impl LuaEncode for Counters {
    fn encode(&self, lua: &mlua::Lua) -> mlua::Result<mlua::Value> {
        self.0.encode(lua)
    }
}

#[derive(LuaCodec)]
pub enum Event {
    Reset,
    Stats { counters: Counters },
}

fn main() {}
