//! Sequences: `Vec<T>`, `VecDeque<T>`, `[T]`, `[T; N]`, `BTreeSet<T>`, `HashSet<T, S>`.
//!
//! Encoded as 1-based Lua sequences. Decoding accepts only tables whose keys are exactly
//! `1..=n`: a non-integer key, a key `<= 0` or a hole is an error naming the key. An
//! element type that accepts nil (`Option<T>`) may have holes, read as nil, since
//! `{1, nil, 3}` is how such a sequence encodes.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};

use mlua::{Lua, Value};

use super::table::{decode_fixed_element, decode_sequence, expect_table, read_fixed};
use crate::{DecodeError, DepthGuard, LuaDecode, LuaEncode, LuaType, TypeRegistry};

/// Builds a 1-based sequence from `items`.
pub(crate) fn encode_seq<'a, T: LuaEncode + 'a>(
    lua: &Lua,
    items: impl ExactSizeIterator<Item = &'a T>,
) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.enumerate() {
        table.raw_set(i as i64 + 1, item.encode(lua)?)?;
    }
    Ok(Value::Table(table))
}

/// The raw-stack form of [`encode_seq`].
pub(crate) fn push_seq<'a, T: LuaEncode + 'a>(
    cx: &crate::raw::RawCx<'_>,
    items: impl ExactSizeIterator<Item = &'a T>,
) -> mlua::Result<()> {
    cx.push_table(items.len(), 0, |t| {
        for (i, item) in items.enumerate() {
            t.item(i as i64 + 1, item)?;
        }
        Ok(())
    })
}

impl<T: LuaEncode> LuaEncode for [T] {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_seq(lua, self.iter())
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_seq(cx, self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaEncode>::lua_type(registry)))
    }
}

impl<T: LuaEncode> LuaEncode for Vec<T> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_seq(lua, self.iter())
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_seq(cx, self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaEncode>::lua_type(registry)))
    }
}

impl<T: LuaDecode> LuaDecode for Vec<T> {
    crate::whole_value_update!();
    fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
        if !cx.is_plain_table(idx) {
            return None;
        }
        let _guard = crate::DepthGuard::enter().ok()?;
        let n = cx.sequence_len(idx)?;
        let mut out = Vec::with_capacity(n);
        for i in 1..=n {
            let at = cx.push_index(idx, i as i64)?;
            // A nil here means the keys are not exactly 1..=n: the slow path says why.
            let item = if cx.is_nil(at) {
                None
            } else {
                T::decode_raw(cx, at).or_else(|| crate::raw::decode_slow::<T>(cx, at))
            };
            cx.pop(1);
            out.push(item?);
        }
        Some(out)
    }
    fn raw_eq(&self, cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> bool {
        if !cx.is_plain_table(idx) {
            return false;
        }
        // One pass: as many entries as elements, each at a key 1..=len (distinct keys,
        // so every index is there) with an equal value.
        let mut count = 0usize;
        let all = cx.for_each_entry(idx, |cx, key, value| {
            count += 1;
            match cx.exact_integer_at(key) {
                Some(i) if i >= 1 && (i as u64) <= self.len() as u64 => {
                    self[(i - 1) as usize].raw_eq(cx, value)
                }
                _ => false,
            }
        });
        all && count == self.len()
    }
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        decode_sequence(value)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaDecode>::lua_type(registry)))
    }
}

impl<T: LuaEncode> LuaEncode for VecDeque<T> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_seq(lua, self.iter())
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_seq(cx, self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaEncode>::lua_type(registry)))
    }
}

impl<T: LuaDecode> LuaDecode for VecDeque<T> {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        decode_sequence(value).map(VecDeque::from)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaDecode>::lua_type(registry)))
    }
}

impl<T: LuaEncode, const N: usize> LuaEncode for [T; N] {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_seq(lua, self.iter())
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_seq(cx, self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaEncode>::lua_type(registry)))
    }
}

impl<T: LuaDecode, const N: usize> LuaDecode for [T; N] {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        let table = expect_table(value, "table")?;
        let _guard = DepthGuard::enter()?;
        let (slots, count) = read_fixed(table, N)?;
        let mut out = Vec::with_capacity(N);
        for (i, slot) in slots.into_iter().enumerate() {
            out.push(decode_fixed_element::<T>(slot, N, count, i + 1)?);
        }
        <[T; N]>::try_from(out)
            .map_err(|v| DecodeError::invalid(format!("expected {N} elements, got {}", v.len())))
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaDecode>::lua_type(registry)))
    }
}

impl<T: LuaEncode> LuaEncode for BTreeSet<T> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_seq(lua, self.iter())
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_seq(cx, self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaEncode>::lua_type(registry)))
    }
}

/// Duplicates in the Lua sequence are merged.
impl<T: LuaDecode + Ord> LuaDecode for BTreeSet<T> {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        decode_sequence::<T>(value).map(|v| v.into_iter().collect())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaDecode>::lua_type(registry)))
    }
}

impl<T: LuaEncode, S> LuaEncode for HashSet<T, S> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        encode_seq(lua, self.iter())
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        push_seq(cx, self.iter())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaEncode>::lua_type(registry)))
    }
}

/// Duplicates in the Lua sequence are merged.
impl<T: LuaDecode + Eq + Hash, S: BuildHasher + Default> LuaDecode for HashSet<T, S> {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        decode_sequence::<T>(value).map(|v| v.into_iter().collect())
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        LuaType::Array(Box::new(<T as LuaDecode>::lua_type(registry)))
    }
}
