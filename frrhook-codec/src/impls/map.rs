//! Maps: `BTreeMap<K, V>` and `HashMap<K, V, S>` as Lua tables from keys to values.
//!
//! Any key type with an encoding works; string and integer keys are the useful ones.
//! Decoding checks every key and every value. A bad value's error is placed under its
//! key (`m.x`, `m["odd key"]`, `m[3]`); a bad key gives `invalid key "x": ...` at the
//! map. When several entries are bad, the error names the least key (integers, then
//! strings, then the rest), so it does not depend on Lua's iteration order.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, btree_map, hash_map};
use std::hash::{BuildHasher, Hash};

use mlua::{Lua, Value};

use super::table::{at_lua_key, describe_key, expect_table, key_cmp, read_pairs};
use crate::{DecodeError, DepthGuard, LuaDecode, LuaEncode, LuaType, TypeRegistry};

fn encode_map<'a, K: LuaEncode + 'a, V: LuaEncode + 'a>(
    lua: &Lua,
    len: usize,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(0, len)?;
    for (k, v) in entries {
        let key = k.encode(lua)?;
        if !matches!(table.raw_get::<Value>(&key)?, Value::Nil) {
            return Err(mlua::Error::RuntimeError(format!(
                "two map keys encode to the same Lua key ({})",
                crate::value::describe(&key)
            )));
        }
        table.raw_set(key, v.encode(lua)?)?;
    }
    Ok(Value::Table(table))
}

/// Records `err` for `key` unless an error at a lesser key is already recorded.
fn seen_error(key: &Value, err: DecodeError, slot: &mut Option<(Value, DecodeError)>) {
    match slot {
        Some((old, _)) if key_cmp(old, key) != Ordering::Greater => {}
        _ => *slot = Some((key.clone(), err)),
    }
}

/// Decodes every entry of a map table, calling `insert` for each; `insert` gives the
/// key back when the map already holds an equal one.
fn decode_map<K: LuaDecode + PartialEq, V: LuaDecode>(
    value: &Value,
    mut insert: impl FnMut(K, V) -> Result<(), K>,
) -> Result<(), DecodeError> {
    let table = expect_table(value, "table")?;
    let _guard = DepthGuard::enter()?;
    let pairs = read_pairs(table)?;
    // On error, keep decoding to report the error at the least key.
    let mut first_error: Option<(Value, DecodeError)> = None;
    let mut decoded: Vec<(Value, K, V)> = Vec::with_capacity(pairs.len());
    for (lk, lv) in pairs {
        let k = match K::decode(&lk) {
            Ok(k) => k,
            Err(e) => {
                let err = DecodeError::invalid(format!("invalid {}: {e}", describe_key(&lk)));
                seen_error(&lk, err, &mut first_error);
                continue;
            }
        };
        match V::decode(&lv) {
            Ok(v) => {
                if first_error.is_none() {
                    decoded.push((lk, k, v));
                }
            }
            Err(e) => seen_error(&lk, at_lua_key(e, &lk), &mut first_error),
        }
    }
    if let Some((_, err)) = first_error {
        return Err(err);
    }
    let mut inserted: Vec<Value> = Vec::with_capacity(decoded.len());
    for (lk, k, v) in decoded {
        if let Err(k) = insert(k, v) {
            return Err(duplicate_error(&inserted, &lk, &k));
        }
        inserted.push(lk);
    }
    Ok(())
}

/// Two Lua keys decode to the same Rust key `k`: finds the earlier one (error path only,
/// one decode per earlier key) and names both, least first.
fn duplicate_error<K: LuaDecode + PartialEq>(inserted: &[Value], lk: &Value, k: &K) -> DecodeError {
    let earlier = inserted
        .iter()
        .find(|other| K::decode(other).is_ok_and(|o| o == *k));
    let (a, b) = match earlier {
        Some(e) if key_cmp(e, lk) == Ordering::Greater => (describe_key(lk), describe_key(e)),
        Some(e) => (describe_key(e), describe_key(lk)),
        None => ("another key".to_string(), describe_key(lk)),
    };
    DecodeError::invalid(format!("{a} and {b} decode to the same map key"))
}

impl<K: LuaEncode, V: LuaEncode> LuaEncode for BTreeMap<K, V> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_map(lua, self.len(), self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Map(
            Box::new(<K as LuaEncode>::lua_type(registry)),
            Box::new(<V as LuaEncode>::lua_type(registry)),
        )
    }
}

impl<K: LuaDecode + Ord, V: LuaDecode> LuaDecode for BTreeMap<K, V> {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        let mut map = BTreeMap::new();
        decode_map::<K, V>(value, |k, v| match map.entry(k) {
            btree_map::Entry::Vacant(e) => {
                e.insert(v);
                Ok(())
            }
            btree_map::Entry::Occupied(e) => Err(e.remove_entry().0),
        })?;
        Ok(map)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Map(
            Box::new(<K as LuaDecode>::lua_type(registry)),
            Box::new(<V as LuaDecode>::lua_type(registry)),
        )
    }
}

impl<K: LuaEncode, V: LuaEncode, S> LuaEncode for HashMap<K, V, S> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_map(lua, self.len(), self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Map(
            Box::new(<K as LuaEncode>::lua_type(registry)),
            Box::new(<V as LuaEncode>::lua_type(registry)),
        )
    }
}

impl<K: LuaDecode + Eq + Hash, V: LuaDecode, S: BuildHasher + Default> LuaDecode
    for HashMap<K, V, S>
{
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        let mut map = HashMap::with_hasher(S::default());
        decode_map::<K, V>(value, |k, v| match map.entry(k) {
            hash_map::Entry::Vacant(e) => {
                e.insert(v);
                Ok(())
            }
            hash_map::Entry::Occupied(e) => Err(e.remove_entry().0),
        })?;
        Ok(map)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Map(
            Box::new(<K as LuaDecode>::lua_type(registry)),
            Box::new(<V as LuaDecode>::lua_type(registry)),
        )
    }
}
