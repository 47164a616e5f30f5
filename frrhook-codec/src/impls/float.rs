//! Floats. Both accept Lua integers and numbers. NaN and the infinities pass through; an
//! `f32` refuses a finite number beyond its range rather than turning it into infinity.

use mlua::{Lua, Value};

use crate::value::{describe, format_number};
use crate::{DecodeError, DecodeErrorKind, LuaDecode, LuaEncode, LuaType, TypeRegistry};

fn number(value: &Value) -> Result<f64, DecodeError> {
    match value {
        Value::Number(n) => Ok(*n),
        Value::Integer(i) => Ok(*i as f64),
        other => Err(DecodeError::type_mismatch("number", describe(other))),
    }
}

impl LuaEncode for f64 {
    fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::Number(*self))
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        cx.push_number(*self)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Number
    }
}

impl LuaDecode for f64 {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        number(value)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Number
    }
}

impl LuaEncode for f32 {
    fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::Number(f64::from(*self)))
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        cx.push_number(f64::from(*self))
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Number
    }
}

impl LuaDecode for f32 {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        let n = number(value)?;
        let narrow = n as f32;
        if n.is_finite() && narrow.is_infinite() {
            let found = match value {
                Value::Integer(i) => i.to_string(),
                _ => format_number(n),
            };
            return Err(DecodeError::new(DecodeErrorKind::Range {
                expected: "number in f32 range (-3.4028235e38..=3.4028235e38)".into(),
                found,
            }));
        }
        Ok(narrow)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Number
    }
}
