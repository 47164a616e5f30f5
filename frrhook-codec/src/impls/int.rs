//! Integers: range-checked both ways. 300 into a `u8`, -1 into a `u32`, 2^63 into an
//! `i64`, NaN or 1.5 into any integer are errors, never a wrap or a truncation.

use mlua::{Lua, Value};

use crate::value::{describe, format_number};
use crate::{DecodeError, DecodeErrorKind, LuaDecode, LuaEncode, LuaType, TypeRegistry};

fn range_error(expected: &'static str, found: String) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Range {
        expected: expected.into(),
        found,
    })
}

/// Reads a Lua number as an i128 if it is integral, so every Rust integer type can
/// check its own range without overflow.
fn integral(value: &Value, expected: &'static str) -> Result<i128, DecodeError> {
    match value {
        Value::Integer(i) => Ok(i128::from(*i)),
        Value::Number(n) => {
            let n = *n;
            // 2^127 is far outside every target range; the check below keeps the cast exact.
            if n.is_finite() && n.fract() == 0.0 && n.abs() < 1.7e38 {
                Ok(n as i128)
            } else {
                Err(range_error(expected, format_number(n)))
            }
        }
        other => Err(DecodeError::type_mismatch("integer", describe(other))),
    }
}

/// The out-of-range value as Lua prints it: `300` for an integer, `300.0` for a float.
fn found_text(value: &Value, wide: i128) -> String {
    match value {
        Value::Number(n) => format_number(*n),
        _ => wide.to_string(),
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl LuaEncode for $t {
            fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
                match i64::try_from(*self) {
                    Ok(i) => Ok(Value::Integer(i)),
                    Err(_) => Err(mlua::Error::RuntimeError(format!(
                        "{} ({}) does not fit in a Lua integer (i64)",
                        self,
                        stringify!($t)
                    ))),
                }
            }
            fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
                match i64::try_from(*self) {
                    Ok(i) => cx.push_integer(i),
                    Err(_) => self.encode(cx.lua()).map(drop),
                }
            }
            fn lua_type(_: &mut TypeRegistry) -> LuaType {
                LuaType::Integer
            }
        }

        impl LuaDecode for $t {
            crate::whole_value_update!();
            #[inline]
            fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
                cx.exact_integer_at(idx).and_then(|i| <$t>::try_from(i).ok())
            }
            #[inline]
            fn raw_eq(&self, cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> bool {
                Self::decode_raw(cx, idx) == Some(*self)
            }
            fn decode(value: &Value) -> Result<Self, DecodeError> {
                let wide = integral(value, range_text::<$t>())?;
                <$t>::try_from(wide).map_err(|_| range_error(range_text::<$t>(), found_text(value, wide)))
            }
            fn lua_type(_: &mut TypeRegistry) -> LuaType {
                LuaType::Integer
            }
        }
    )*};
}

int_codec!(
    i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, i128, u128
);

/// `integer in MIN..=MAX (type)` with the real bounds, built once per type.
fn range_text<T: Bounds>() -> &'static str {
    T::TEXT
}

trait Bounds {
    const TEXT: &'static str;
}

macro_rules! bounds {
    ($($t:ty => $text:expr),*) => {$(
        impl Bounds for $t { const TEXT: &'static str = $text; }
    )*};
}

bounds!(
    i8 => "integer in -128..=127 (i8)",
    i16 => "integer in -32768..=32767 (i16)",
    i32 => "integer in -2147483648..=2147483647 (i32)",
    i64 => "integer in -9223372036854775808..=9223372036854775807 (i64)",
    isize => ISIZE_TEXT,
    u8 => "integer in 0..=255 (u8)",
    u16 => "integer in 0..=65535 (u16)",
    u32 => "integer in 0..=4294967295 (u32)",
    u64 => "integer in 0..=18446744073709551615 (u64)",
    usize => USIZE_TEXT,
    i128 => "integer (i128)",
    u128 => "integer >= 0 (u128)"
);

#[cfg(target_pointer_width = "64")]
const ISIZE_TEXT: &str = "integer in -9223372036854775808..=9223372036854775807 (isize)";
#[cfg(target_pointer_width = "64")]
const USIZE_TEXT: &str = "integer in 0..=18446744073709551615 (usize)";
#[cfg(target_pointer_width = "32")]
const ISIZE_TEXT: &str = "integer in -2147483648..=2147483647 (isize)";
#[cfg(target_pointer_width = "32")]
const USIZE_TEXT: &str = "integer in 0..=4294967295 (usize)";
#[cfg(target_pointer_width = "16")]
const ISIZE_TEXT: &str = "integer in -32768..=32767 (isize)";
#[cfg(target_pointer_width = "16")]
const USIZE_TEXT: &str = "integer in 0..=65535 (usize)";
