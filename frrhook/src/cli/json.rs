//! JSON and Lua values, both ways, by hand (no `mlua/serialize`: serde stays off the
//! hook call path), and the comparison of an expected JSON value with an actual one.
//!
//! JSON to Lua: `null` is `nil`, integers that fit an `i64` are Lua integers, other
//! numbers are floats, arrays are 1-based sequences, objects are tables with string keys.
//!
//! Lua to JSON: a table whose keys are exactly `1..n` is an array (the empty table is
//! `[]`), any other table an object whose integer keys are written as strings; integers
//! stay integers, floats are numbers (NaN and infinities become the strings `"nan"`,
//! `"inf"`, `"-inf"`), functions and userdata become `"<function>"` and so on. Tables
//! nested deeper than the codec's depth limit (a cycle) are an error.

use mlua::{Lua, Table, Value};
use serde_json::{Map, Number, Value as Json};

use crate::codec::MAX_DEPTH;
use crate::codec::value::format_number;

/// Builds the Lua value of `json` in `lua`.
pub fn to_lua(lua: &Lua, json: &Json) -> mlua::Result<Value> {
    Ok(match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
        Json::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, v) in map {
                t.raw_set(k.as_str(), to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

/// The JSON form of a Lua value.
pub fn from_lua(value: &Value) -> Result<Json, String> {
    from_lua_at(value, 0)
}

fn from_lua_at(value: &Value, depth: u32) -> Result<Json, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "tables nested deeper than {MAX_DEPTH} levels (is the table cyclic?)"
        ));
    }
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number(Number::from(*i)),
        Value::Number(n) => match Number::from_f64(*n) {
            Some(n) => Json::Number(n),
            None => Json::String(format_number(*n)),
        },
        Value::String(s) => Json::String(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Table(t) => table_to_json(t, depth)?,
        other => Json::String(format!("<{}>", crate::codec::type_name(other))),
    })
}

fn table_to_json(t: &Table, depth: u32) -> Result<Json, String> {
    // A lazy argument table a script kept or returned: its fields first.
    crate::codec::lazy::force(t).map_err(|e| e.to_string())?;
    let mut pairs = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        pairs.push(pair.map_err(|e| e.to_string())?);
    }
    let len = t.raw_len();
    let is_array = pairs.len() == len
        && pairs
            .iter()
            .all(|(k, _)| matches!(k, Value::Integer(i) if *i >= 1 && (*i as usize) <= len));
    if is_array {
        let mut items = vec![Json::Null; len];
        for (k, v) in &pairs {
            if let Value::Integer(i) = k {
                items[*i as usize - 1] = from_lua_at(v, depth + 1)?;
            }
        }
        return Ok(Json::Array(items));
    }
    let mut map = Map::new();
    for (k, v) in &pairs {
        let key = match k {
            Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            Value::Integer(i) => i.to_string(),
            Value::Number(n) => format_number(*n),
            Value::Boolean(b) => b.to_string(),
            other => format!("<{}>", crate::codec::type_name(other)),
        };
        map.insert(key, from_lua_at(v, depth + 1)?);
    }
    Ok(Json::Object(map))
}

/// One place where an actual value differs from the expected one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where: `results.action`, `args.attributes.community[2]`.
    pub path: String,
    /// What was expected (`null` for absent).
    pub expected: Json,
    /// What was found (`null` for absent).
    pub actual: Json,
}

/// Compares `actual` with `expected`, as a fixture expectation: objects are compared on
/// the keys the expectation lists (others are not checked; `null` checks a key is
/// absent), arrays element by element, numbers by value (`3` equals `3.0`), and an
/// empty object equals an empty array.
pub fn expect_matches(path: &str, expected: &Json, actual: &Json, out: &mut Vec<Mismatch>) {
    compare(path, expected, actual, true, out);
}

/// Compares two values exactly (every key of both objects), as the shadow runner does.
pub fn differences(path: &str, a: &Json, b: &Json, out: &mut Vec<Mismatch>) {
    compare(path, a, b, false, out);
}

fn compare(path: &str, expected: &Json, actual: &Json, partial: bool, out: &mut Vec<Mismatch>) {
    let mismatch = |out: &mut Vec<Mismatch>| {
        out.push(Mismatch {
            path: path.to_string(),
            expected: expected.clone(),
            actual: actual.clone(),
        })
    };
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            let mut keys: Vec<&String> = e.keys().collect();
            if !partial {
                keys.extend(a.keys().filter(|k| !e.contains_key(*k)));
            }
            for k in keys {
                let ev = e.get(k).unwrap_or(&Json::Null);
                let av = a.get(k).unwrap_or(&Json::Null);
                compare(&join(path, k), ev, av, partial, out);
            }
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                mismatch(out);
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(&format!("{path}[{}]", i + 1), ev, av, partial, out);
            }
        }
        (Json::Object(o), Json::Array(v)) | (Json::Array(v), Json::Object(o))
            if o.is_empty() && v.is_empty() => {}
        (Json::Number(e), Json::Number(a)) => {
            let same = match (e.as_i64(), a.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => e.as_f64() == a.as_f64(),
            };
            if !same {
                mismatch(out);
            }
        }
        (e, a) => {
            if e != a {
                mismatch(out);
            }
        }
    }
}

/// `path.key`, or `path["odd key"]` when the key is not an identifier.
pub fn join(path: &str, key: &str) -> String {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && key.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    match (path.is_empty(), ident) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// Deep equality of two Lua values (tables by content, raw; floats by value; an integer
/// equals the float of the same value). Cycles or absurd depth compare unequal.
pub fn lua_equal(a: &Value, b: &Value) -> bool {
    lua_equal_at(a, b, 0)
}

fn lua_equal_at(a: &Value, b: &Value, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Boolean(x), Value::Boolean(y)) => x == y,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Integer(x), Value::Number(y)) | (Value::Number(y), Value::Integer(x)) => {
            (*x as f64) == *y && (*y as i64) == *x
        }
        (Value::String(x), Value::String(y)) => *x.as_bytes() == *y.as_bytes(),
        (Value::Table(x), Value::Table(y)) => {
            if crate::codec::lazy::force(x).is_err() || crate::codec::lazy::force(y).is_err() {
                return false;
            }
            let mut n = 0usize;
            for pair in x.pairs::<Value, Value>() {
                let Ok((k, v)) = pair else { return false };
                let Ok(w) = y.raw_get::<Value>(k) else {
                    return false;
                };
                if !lua_equal_at(&v, &w, depth + 1) {
                    return false;
                }
                n += 1;
            }
            let m = y.pairs::<Value, Value>().count();
            n == m
        }
        (x, y) => x == y,
    }
}

/// Pretty JSON with two-space indentation.
pub fn pretty(json: &Json) -> String {
    serde_json::to_string_pretty(json).unwrap_or_else(|e| format!("<{e}>"))
}

/// JSON on one line, with a space after `:` and `,`: `{"action": 3, "tags": ["a"]}`.
pub fn compact(json: &Json) -> String {
    let mut out = String::new();
    inline(json, &mut out);
    out
}

fn inline(json: &Json, out: &mut String) {
    match json {
        Json::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline(v, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push_str(": ");
                inline(v, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let lua = Lua::new();
        let j = json!({"a": 1, "b": [true, "x", 1.5], "c": {"d": null}, "e": []});
        let v = to_lua(&lua, &j).unwrap();
        // `null` inside an object is an absent key in Lua.
        assert_eq!(
            from_lua(&v).unwrap(),
            json!({"a": 1, "b": [true, "x", 1.5], "c": [], "e": []})
        );
        let t = lua.create_table().unwrap();
        t.raw_set(3, "x").unwrap();
        t.raw_set("k", f64::NAN).unwrap();
        assert_eq!(
            from_lua(&Value::Table(t)).unwrap(),
            json!({"3": "x", "k": "nan"})
        );
        let cyclic = lua.create_table().unwrap();
        cyclic.raw_set("self", &cyclic).unwrap();
        assert!(
            from_lua(&Value::Table(cyclic))
                .unwrap_err()
                .contains("cyclic")
        );
    }

    #[test]
    fn expectations_are_partial_on_objects() {
        let mut out = Vec::new();
        expect_matches(
            "args",
            &json!({"attributes": {"localpref": 200, "community": []}}),
            &json!({"attributes": {"localpref": 200.0, "metric": 3, "community": {}}}),
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        expect_matches(
            "r",
            &json!({"action": null}),
            &json!({"action": 2}),
            &mut out,
        );
        assert_eq!(out[0].path, "r.action");
        let mut diff = Vec::new();
        differences("", &json!({"a": 1}), &json!({"a": 1, "b": 2}), &mut diff);
        assert_eq!(diff[0].path, "b");
        assert_eq!(join("x", "odd key"), "x[\"odd key\"]");
        assert_eq!(
            compact(&json!({"a": [1, "x"], "b": {}})),
            r#"{"a": [1, "x"], "b": {}}"#
        );
    }

    #[test]
    fn lua_values_compare_deeply() {
        let lua = Lua::new();
        let a = to_lua(&lua, &json!({"x": [1, 2, {"y": "z"}]})).unwrap();
        let b = to_lua(&lua, &json!({"x": [1, 2.0, {"y": "z"}]})).unwrap();
        let c = to_lua(&lua, &json!({"x": [1, 2, {"y": "w"}]})).unwrap();
        assert!(lua_equal(&a, &b));
        assert!(!lua_equal(&a, &c));
    }
}
