//! Raw table reading shared by the sequence, tuple, map and FRR-shape decoders.
//!
//! Everything here uses raw access only (`raw_len`, `raw_get`, `for_each`, which is
//! `lua_next`): no metamethod (`__index`, `__pairs`, `__len`, ...) ever runs while
//! decoding, so a script cannot run code, or make a value lie about itself, from inside
//! a decoder.

use std::cmp::Ordering;

use mlua::{Table, Value};

use crate::DecodeError;
use crate::value::{describe, format_number, type_name};

/// How many missing indices a sequence whose elements accept nil (`Vec<Option<T>>`) may
/// have before it is rejected as too sparse, so `{[2^60] = 1}` cannot make the decoder
/// allocate without bound.
pub(crate) const MAX_HOLES: u64 = 1 << 16;

/// `value` as a table (a lazy table filled first, see [`crate::lazy`]), or
/// `expected EXPECTED, got ...`.
pub(crate) fn expect_table<'a>(
    value: &'a Value,
    expected: &'static str,
) -> Result<&'a Table, DecodeError> {
    match value {
        Value::Table(t) => {
            crate::lazy::force(t).map_err(lua_error)?;
            Ok(t)
        }
        other => Err(DecodeError::type_mismatch(expected, describe(other))),
    }
}

/// An error from mlua while reading a table (only possible when Lua runs out of memory
/// or reference slots), as a decode error.
pub(crate) fn lua_error(e: mlua::Error) -> DecodeError {
    DecodeError::invalid(format!("could not read table: {e}"))
}

/// A raw field read: `t[key]` without `__index`.
pub(crate) fn raw_field(table: &Table, key: &str) -> Result<Value, DecodeError> {
    crate::raw::get_field(table, key.as_bytes()).map_err(lua_error)
}

/// Describes a table key for a message: `key "x"`, `key 0`, `key 1.5`, `key true`,
/// `a table key`.
pub(crate) fn describe_key(key: &Value) -> String {
    match key {
        Value::String(s) => {
            let bytes = s.as_bytes();
            let shown = &bytes[..bytes.len().min(40)];
            let more = if bytes.len() > 40 { "..." } else { "" };
            format!("key {:?}{more}", String::from_utf8_lossy(shown))
        }
        Value::Integer(i) => format!("key {i}"),
        Value::Number(n) => format!("key {}", format_number(*n)),
        Value::Boolean(b) => format!("key {b}"),
        other => format!("a {} key", type_name(other)),
    }
}

/// Places `err` under the Lua key `key` in the error path: `.name` / `["odd key"]` for
/// strings, `[3]` for non-negative integers, `["-1"]` (rendered as a string, the closest
/// the path type offers) for the rest.
pub(crate) fn at_lua_key(err: DecodeError, key: &Value) -> DecodeError {
    match key {
        Value::String(s) => err.at_key(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Integer(i) if *i >= 0 => err.at_index(*i as u64),
        Value::Integer(i) => err.at_key(i.to_string()),
        Value::Number(n) => err.at_key(format_number(*n)),
        Value::Boolean(b) => err.at_key(b.to_string()),
        other => err.at_key(type_name(other)),
    }
}

fn key_rank(v: &Value) -> u8 {
    match v {
        Value::Integer(_) | Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Boolean(_) => 2,
        _ => 3,
    }
}

/// A total order on keys, used only to pick *which* of several bad keys an error names,
/// so that errors do not depend on Lua's (address-seeded) iteration order.
pub(crate) fn key_cmp(a: &Value, b: &Value) -> Ordering {
    key_rank(a).cmp(&key_rank(b)).then_with(|| match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Integer(x), Value::Number(y)) => (*x as f64).total_cmp(y),
        (Value::Number(x), Value::Integer(y)) => x.total_cmp(&(*y as f64)),
        (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(&y.as_bytes()),
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        _ => type_name(a).cmp(type_name(b)),
    })
}

/// Keeps the smaller of `slot` and `key` (by [`key_cmp`]) in `slot`.
pub(crate) fn keep_least(slot: &mut Option<Value>, key: Value) {
    match slot {
        Some(old) if key_cmp(old, &key) != Ordering::Greater => {}
        _ => *slot = Some(key),
    }
}

/// Reads a table that must be a 1-based sequence of any length (`Vec<T>`).
///
/// Returns one entry per index `1..=n`, `None` where the index is absent. Keys that are
/// not positive integers are errors naming the key. Absent indices are errors naming the
/// first one unless `nil_ok()` says the element type accepts nil.
///
/// The border (`#t`, `raw_len`) is not used: with holes it may be any border, and a
/// table such as `{[1]=1, [2]=1, [4]=1, ..., [2^40]=1}` has a border near 2^40 with 41
/// entries. Allocation is bounded by the number of entries (plus [`MAX_HOLES`]).
pub(crate) fn read_sequence(
    table: &Table,
    nil_ok: impl FnOnce() -> bool,
) -> Result<Vec<Option<Value>>, DecodeError> {
    let mut entries: Vec<(u64, Value)> = Vec::new();
    let mut bad: Option<Value> = None;
    let mut highest: u64 = 0;
    table
        .for_each::<Value, Value>(|k, v| {
            match k {
                Value::Integer(i) if i >= 1 => {
                    highest = highest.max(i as u64);
                    entries.push((i as u64, v));
                }
                other => keep_least(&mut bad, other),
            }
            Ok(())
        })
        .map_err(lua_error)?;

    if let Some(key) = bad {
        return Err(DecodeError::invalid(format!(
            "expected a sequence (keys 1, 2, 3, ...), got {}",
            describe_key(&key)
        )));
    }
    // The keys are distinct integers in 1..=highest.
    let count = entries.len() as u64;
    let holes = highest - count;
    if holes > 0 {
        if !nil_ok() {
            // At most `count` of the indices 1..=count+1 are present, so one is missing.
            let mut present = vec![false; entries.len() + 1];
            for (k, _) in &entries {
                if *k <= count + 1 {
                    present[(*k - 1) as usize] = true;
                }
            }
            let first = present
                .iter()
                .position(|p| !p)
                .map_or(count + 1, |p| p as u64 + 1);
            return Err(DecodeError::invalid(format!(
                "expected a sequence, got a hole at [{first}] (highest key {highest})"
            )));
        }
        if holes > MAX_HOLES {
            return Err(DecodeError::invalid(format!(
                "expected a sequence, got key {highest} with only {count} elements (more than {MAX_HOLES} missing)"
            )));
        }
    }
    // highest = count + holes, holes <= MAX_HOLES: bounded by what the table holds.
    let mut slots: Vec<Option<Value>> = Vec::new();
    slots.resize_with(highest as usize, || None);
    for (k, v) in entries {
        slots[(k - 1) as usize] = Some(v);
    }
    Ok(slots)
}

/// Reads a table that must be a sequence of exactly `n` elements (arrays, tuples).
///
/// Returns `n` entries, `None` where the index is absent (the caller decides whether the
/// element accepts nil, see [`missing_element`]), and how many were present. A key that
/// is not an integer in `1..=n` is an error naming the key.
pub(crate) fn read_fixed(
    table: &Table,
    n: usize,
) -> Result<(Vec<Option<Value>>, usize), DecodeError> {
    let mut slots: Vec<Option<Value>> = Vec::new();
    slots.resize_with(n, || None);
    let mut bad: Option<Value> = None;
    let mut count = 0usize;
    table
        .for_each::<Value, Value>(|k, v| {
            match k {
                Value::Integer(i) if i >= 1 && (i as u64) <= n as u64 => {
                    slots[(i - 1) as usize] = Some(v);
                    count += 1;
                }
                other => keep_least(&mut bad, other),
            }
            Ok(())
        })
        .map_err(lua_error)?;
    if let Some(key) = bad {
        return Err(DecodeError::invalid(format!(
            "expected a sequence of {n} elements (keys 1..={n}), got {}",
            describe_key(&key)
        )));
    }
    Ok((slots, count))
}

/// The error for a fixed-length sequence whose index `index` is absent and whose element
/// type does not accept nil.
pub(crate) fn missing_element(n: usize, count: usize, index: usize) -> DecodeError {
    DecodeError::invalid(format!(
        "expected a sequence of {n} elements, got {count} (missing [{index}])"
    ))
}

/// Reads every key/value pair of a table (raw, in Lua's iteration order).
pub(crate) fn read_pairs(table: &Table) -> Result<Vec<(Value, Value)>, DecodeError> {
    let mut pairs = Vec::new();
    table
        .for_each::<Value, Value>(|k, v| {
            pairs.push((k, v));
            Ok(())
        })
        .map_err(lua_error)?;
    Ok(pairs)
}

/// Decodes element `index` (1-based) of a fixed-length sequence read by [`read_fixed`].
pub(crate) fn decode_fixed_element<T: crate::LuaDecode>(
    slot: Option<Value>,
    n: usize,
    count: usize,
    index: usize,
) -> Result<T, DecodeError> {
    match slot {
        Some(v) => T::decode(&v).map_err(|e| e.at_index(index as u64)),
        None => T::decode(&Value::Nil).map_err(|_| missing_element(n, count, index)),
    }
}

/// Decodes a whole sequence into `T`s, each error placed at its index.
pub(crate) fn decode_sequence<T: crate::LuaDecode>(value: &Value) -> Result<Vec<T>, DecodeError> {
    let table = expect_table(value, "table")?;
    let _guard = crate::DepthGuard::enter()?;
    let slots = read_sequence(table, || T::decode(&Value::Nil).is_ok())?;
    let mut out = Vec::with_capacity(slots.len());
    for (i, slot) in slots.into_iter().enumerate() {
        let v = slot.unwrap_or(Value::Nil);
        out.push(T::decode(&v).map_err(|e| e.at_index(i as u64 + 1))?);
    }
    Ok(out)
}
