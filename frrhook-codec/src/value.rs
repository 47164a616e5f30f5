//! Helpers for describing Lua values in error messages.

use mlua::Value;

/// The Lua type name of `value` (`nil`, `boolean`, `integer`, `number`, `string`,
/// `table`, `function`, `thread`, `userdata`), with `integer` and `number` told apart.
///
/// ```
/// use frrhook_codec::{type_name, mlua::Value};
/// assert_eq!(type_name(&Value::Integer(1)), "integer");
/// assert_eq!(type_name(&Value::Nil), "nil");
/// ```
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "userdata",
        Value::Integer(_) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) => "userdata",
        Value::Error(_) => "error",
        _ => "userdata",
    }
}

/// Describes `value` for a "got ..." message: the type, and for scalars the value
/// itself (strings shortened to 40 bytes, shown lossily).
///
/// ```
/// use frrhook_codec::{value::describe, mlua::Value};
/// assert_eq!(describe(&Value::Integer(300)), "integer (300)");
/// assert_eq!(describe(&Value::Boolean(true)), "boolean (true)");
/// ```
pub fn describe(value: &Value) -> String {
    match value {
        Value::Boolean(b) => format!("boolean ({b})"),
        Value::Integer(i) => format!("integer ({i})"),
        Value::Number(n) => format!("number ({})", format_number(*n)),
        Value::String(s) => {
            let bytes = s.as_bytes();
            let shown = &bytes[..bytes.len().min(40)];
            let more = if bytes.len() > 40 { "..." } else { "" };
            format!("string ({:?}{more})", String::from_utf8_lossy(shown))
        }
        other => type_name(other).to_string(),
    }
}

/// Formats a float as Lua prints it (`nan`, `inf`, `-inf`, `1.5`, `3.0`), with very
/// large and very small magnitudes in exponent form (`1e300`, `9.223372036854776e18`,
/// `1e-7`) and always enough digits to tell the value apart.
///
/// ```
/// use frrhook_codec::value::format_number;
/// assert_eq!(format_number(3.0), "3.0");
/// assert_eq!(format_number(1e300), "1e300");
/// assert_eq!(format_number(2f64.powi(63)), "9.223372036854776e18");
/// assert_eq!(format_number(f64::NAN), "nan");
/// ```
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "nan".into()
    } else if n.is_infinite() {
        if n > 0.0 { "inf".into() } else { "-inf".into() }
    } else if n.abs() >= 1e16 || (n != 0.0 && n.abs() < 1e-4) {
        format!("{n:e}")
    } else if n.fract() == 0.0 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}
