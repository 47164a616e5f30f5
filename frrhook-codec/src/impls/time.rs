//! `std::time::Duration` as a number of seconds (`1.5` is 1.5 s).

use std::time::Duration;

use mlua::{Lua, Value};

use crate::value::{describe, format_number};
use crate::{DecodeError, DecodeErrorKind, LuaDecode, LuaEncode, LuaType, TypeRegistry};

const EXPECTED: &str = "non-negative finite number of seconds";

fn range_error(found: String) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Range {
        expected: EXPECTED.into(),
        found,
    })
}

/// Encodes as float seconds (`as_secs_f64`); sub-nanosecond precision beyond an `f64`'s
/// 53 bits is lost for durations over about 104 days.
impl LuaEncode for Duration {
    fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::Number(self.as_secs_f64()))
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Number
    }
}

/// Accepts integers and numbers of seconds; negative, NaN, infinite or too large
/// (beyond `u64::MAX` seconds) is a range error.
impl LuaDecode for Duration {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match value {
            Value::Integer(i) => u64::try_from(*i)
                .map(Duration::from_secs)
                .map_err(|_| range_error(i.to_string())),
            Value::Number(n) => {
                let n = *n;
                // -0.0 is zero; try_from_secs_f64 rejects negatives, NaN, inf and overflow.
                let n = if n == 0.0 { 0.0 } else { n };
                Duration::try_from_secs_f64(n).map_err(|_| range_error(format_number(n)))
            }
            other => Err(DecodeError::type_mismatch("number", describe(other))),
        }
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Number
    }
}
