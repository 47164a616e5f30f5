//! bool, strings and `char`. Strings must be UTF-8 to decode into `String` or `char`;
//! a Lua string with invalid UTF-8 is an error giving the byte offset.

use mlua::{Lua, Value};

use crate::value::describe;
use crate::{DecodeError, LuaDecode, LuaEncode, LuaType, TypeRegistry};

impl LuaEncode for bool {
    fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::Boolean(*self))
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        cx.push_bool(*self)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Boolean
    }
}

impl LuaDecode for bool {
    crate::whole_value_update!();
    #[inline]
    fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
        cx.bool_at(idx)
    }
    #[inline]
    fn raw_eq(&self, cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> bool {
        cx.bool_at(idx) == Some(*self)
    }
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
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        cx.push_bytes(self.as_bytes())
    }
}

impl LuaEncode for String {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        lua.create_string(self).map(Value::String)
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        cx.push_bytes(self.as_bytes())
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
}

impl LuaDecode for String {
    crate::whole_value_update!();
    #[inline]
    fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
        cx.string_at(idx)
    }
    #[inline]
    fn raw_eq(&self, cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> bool {
        cx.bytes_eq(idx, self.as_bytes())
    }
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

impl LuaEncode for char {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        let mut buf = [0u8; 4];
        lua.create_string(self.encode_utf8(&mut buf).as_bytes())
            .map(Value::String)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
}

/// A string of exactly one Unicode scalar value (1 to 4 bytes of UTF-8).
impl LuaDecode for char {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        const EXPECTED: &str = "string of one character";
        let Value::String(s) = value else {
            return Err(DecodeError::type_mismatch(EXPECTED, describe(value)));
        };
        let bytes = s.as_bytes();
        let mut chars = match std::str::from_utf8(&bytes) {
            Ok(text) => text.chars(),
            Err(e) => {
                return Err(DecodeError::invalid(format!(
                    "expected UTF-8 string, got invalid UTF-8 at byte {}",
                    e.valid_up_to()
                )));
            }
        };
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(DecodeError::invalid(format!(
                "expected {EXPECTED}, got {}",
                describe(value)
            ))),
        }
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
}

impl<T: LuaEncode + ToOwned + ?Sized> LuaEncode for std::borrow::Cow<'_, T> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        (**self).encode(lua)
    }
}
