//! bool and strings.

use mlua::{Lua, Value};

use crate::value::describe;
use crate::{DecodeError, LuaDecode, LuaEncode, LuaType, TypeRegistry};

impl LuaEncode for bool {
    fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::Boolean(*self))
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Boolean
    }
}

impl LuaDecode for bool {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match value {
            Value::Boolean(b) => Ok(*b),
            other => Err(DecodeError::type_mismatch("boolean", describe(other))),
        }
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Boolean
    }
}

impl LuaEncode for str {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        lua.create_string(self).map(Value::String)
    }
}

impl LuaEncode for String {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        lua.create_string(self).map(Value::String)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
}

impl LuaDecode for String {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match value {
            Value::String(s) => match std::str::from_utf8(&s.as_bytes()) {
                Ok(text) => Ok(text.to_owned()),
                Err(e) => Err(DecodeError::invalid(format!(
                    "expected UTF-8 string, got invalid UTF-8 at byte {}",
                    e.valid_up_to()
                ))),
            },
            other => Err(DecodeError::type_mismatch("string", describe(other))),
        }
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
}
