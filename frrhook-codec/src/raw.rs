//! The raw-stack fast path of encoding: what FRR's `lua_push*` functions do, without
//! going through mlua's per-operation wrappers.
//!
//! [`LuaEncode::push_raw`] receives a [`RawCx`] and pushes
//! exactly one value (or nothing, on error). Every method here checks stack space and
//! addresses tables by absolute index, so code using it needs no `unsafe`; only making a
//! `RawCx` is unsafe, and only the runtime does that.

use std::ffi::{CStr, c_int};

use mlua::{Lua, Value, ffi};

use crate::{DecodeError, LuaDecode, LuaEncode};

/// A Lua stack to push encoded values onto. Made by the runtime for each call.
///
/// ```
/// use frrhook_codec::{LuaEncode, raw::RawCx, mlua::Lua};
/// let lua = Lua::new();
/// let n: i64 = lua.exec_raw_lua(|raw| {
///     // SAFETY: `raw.state()` is the current stack of `lua` and no memory limit is set.
///     let cx = unsafe { RawCx::new(&lua, raw.state()) };
///     42u8.push_raw(&cx).unwrap();
///     let n = cx.integer_at(-1).unwrap();
///     cx.pop(1);
///     n
/// });
/// assert_eq!(n, 42);
/// ```
pub struct RawCx<'a> {
    lua: &'a Lua,
    state: *mut ffi::lua_State,
    /// The lowest top [`pop`](Self::pop) may leave: while a callback runs on slots a
    /// method of this context pushed (a table being filled, a walk's key and value), it
    /// can pop only what it pushed itself, so those slots stay what the method expects.
    floor: std::cell::Cell<c_int>,
}

fn stack_error() -> mlua::Error {
    mlua::Error::StackError
}

/// A presize hint for `lua_createtable`: at most 2^20, since presizing is only an
/// optimization and Lua raises ("table overflow") outside any protected call, which
/// aborts, for sizes near `c_int::MAX`.
fn clamp(n: usize) -> c_int {
    c_int::try_from(n.min(1 << 20)).unwrap_or(0)
}

impl<'a> RawCx<'a> {
    /// # Safety
    /// `state` must be the current stack of `lua` (as `lua.exec_raw_lua(|raw| raw.state())`
    /// gives it) for as long as the `RawCx` lives, and no memory limit may be set on `lua`
    /// while values are pushed (allocation failures outside a protected call abort, as
    /// they do in mlua itself).
    pub unsafe fn new(lua: &'a Lua, state: *mut ffi::lua_State) -> Self {
        RawCx {
            lua,
            state,
            // What was on the stack before is the caller's: `pop` leaves it.
            // SAFETY: `state` is live (the caller's contract).
            floor: std::cell::Cell::new(unsafe { ffi::lua_gettop(state) }),
        }
    }

    /// The raw Lua stack.
    pub fn state(&self) -> *mut ffi::lua_State {
        self.state
    }

    /// The Lua state, for fallbacks that build an `mlua::Value`. Encoders must not run
    /// Lua code through it: while a hook fills a lazy argument table (see
    /// [`crate::lazy`]) that code would see the table half filled.
    pub fn lua(&self) -> &'a Lua {
        self.lua
    }

    #[inline]
    fn reserve(&self, n: c_int) -> mlua::Result<()> {
        // SAFETY: `state` is live (constructor contract); checkstack never raises.
        if unsafe { ffi::lua_checkstack(self.state, n) } == 0 {
            Err(stack_error())
        } else {
            Ok(())
        }
    }

    /// `idx` as an absolute index of a slot that exists (`1..=top`), or `None`: every
    /// method that reads a slot goes through it, so that no index, however wrong, reads
    /// outside the stack.
    #[inline]
    fn slot(&self, idx: c_int) -> Option<c_int> {
        // SAFETY: lua_gettop only reads the top of a live stack.
        let top = unsafe { ffi::lua_gettop(self.state) };
        let abs = if idx > 0 {
            idx
        } else if idx < 0 && idx >= -top {
            top + idx + 1
        } else {
            return None;
        };
        (abs <= top).then_some(abs)
    }

    /// `idx` as the absolute index of a slot holding a table, with `room` free slots
    /// above the top, or `None` (not a slot, not a table, or the stack is full).
    #[inline(always)]
    fn table_slot(&self, idx: c_int, room: c_int) -> Option<c_int> {
        let idx = self.slot(idx)?;
        // SAFETY: `idx` is a slot of the live stack; checkstack never raises.
        let ok = unsafe {
            ffi::lua_type(self.state, idx) == ffi::LUA_TTABLE
                && ffi::lua_checkstack(self.state, room) != 0
        };
        ok.then_some(idx)
    }

    /// Pushes nil.
    #[inline]
    pub fn push_nil(&self) -> mlua::Result<()> {
        self.reserve(1)?;
        // SAFETY: one slot reserved.
        unsafe { ffi::lua_pushnil(self.state) };
        Ok(())
    }

    /// Pushes a boolean.
    #[inline]
    pub fn push_bool(&self, b: bool) -> mlua::Result<()> {
        self.reserve(1)?;
        // SAFETY: one slot reserved.
        unsafe { ffi::lua_pushboolean(self.state, c_int::from(b)) };
        Ok(())
    }

    /// Pushes an integer.
    #[inline]
    pub fn push_integer(&self, i: i64) -> mlua::Result<()> {
        self.reserve(1)?;
        // SAFETY: one slot reserved.
        unsafe { ffi::lua_pushinteger(self.state, i) };
        Ok(())
    }

    /// Pushes a float.
    #[inline]
    pub fn push_number(&self, n: f64) -> mlua::Result<()> {
        self.reserve(1)?;
        // SAFETY: one slot reserved.
        unsafe { ffi::lua_pushnumber(self.state, n) };
        Ok(())
    }

    /// Pushes a string (any bytes).
    #[inline]
    pub fn push_bytes(&self, s: &[u8]) -> mlua::Result<()> {
        self.reserve(1)?;
        // SAFETY: one slot reserved; the pointer and length describe `s`.
        unsafe { ffi::lua_pushlstring(self.state, s.as_ptr().cast(), s.len()) };
        Ok(())
    }

    /// Pushes an `mlua::Value` (the fallback for types without a raw encoding).
    pub fn push_value(&self, v: &Value) -> mlua::Result<()> {
        self.reserve(3)?;
        // SAFETY: `raw.state()` is `self.state` (constructor contract); 3 slots reserved
        // covers `push_value`'s documented use of up to 2.
        self.lua.exec_raw_lua(|raw| unsafe { raw.push_value(v) })
    }

    /// Pushes a new table with room for `narr` sequence items and `nrec` fields, and lets
    /// `fill` set them. On error nothing stays pushed.
    #[inline]
    pub fn push_table(
        &self,
        narr: usize,
        nrec: usize,
        fill: impl FnOnce(&TableCx<'_, 'a>) -> mlua::Result<()>,
    ) -> mlua::Result<()> {
        self.reserve(2)?;
        // SAFETY: slots reserved; createtable only raises on allocation failure (see `new`).
        let index = unsafe {
            ffi::lua_createtable(self.state, clamp(narr), clamp(nrec));
            ffi::lua_gettop(self.state)
        };
        let t = TableCx { cx: self, index };
        match self.above(index, || fill(&t)) {
            Ok(()) => {
                // Drop anything a misbehaving encoder left above the table.
                // SAFETY: `index` is a valid absolute index at or below the top.
                unsafe { ffi::lua_settop(self.state, index) };
                Ok(())
            }
            Err(e) => {
                // SAFETY: as above; removes the table too.
                unsafe { ffi::lua_settop(self.state, index - 1) };
                Err(e)
            }
        }
    }

    /// Reads an integer at stack index `idx` (for tests and checks).
    pub fn integer_at(&self, idx: c_int) -> Option<i64> {
        let idx = self.slot(idx)?;
        let mut ok = 0;
        // SAFETY: `idx` is a slot of the stack.
        let n = unsafe { ffi::lua_tointegerx(self.state, idx, &mut ok) };
        (ok != 0).then_some(n)
    }

    /// The type of the value at `idx` (`ffi::LUA_T*`; `LUA_TNONE` for no slot).
    #[inline]
    pub fn type_at(&self, idx: c_int) -> c_int {
        match self.slot(idx) {
            // SAFETY: `idx` is a slot of the stack.
            Some(idx) => unsafe { ffi::lua_type(self.state, idx) },
            None => ffi::LUA_TNONE,
        }
    }

    /// Whether the value at `idx` is nil (or there is no such slot).
    #[inline]
    pub fn is_nil(&self, idx: c_int) -> bool {
        self.type_at(idx) <= ffi::LUA_TNIL
    }

    /// The integer at `idx` when it is a number with an integer representation (a
    /// string is not converted).
    #[inline]
    pub fn exact_integer_at(&self, idx: c_int) -> Option<i64> {
        let idx = self.slot(idx)?;
        // SAFETY: a slot of the stack; lua_isinteger is true only for a number of
        // integer subtype, so lua_tointegerx converts nothing.
        unsafe {
            if ffi::lua_isinteger(self.state, idx) == 0 {
                return None;
            }
            Some(ffi::lua_tointegerx(self.state, idx, std::ptr::null_mut()))
        }
    }

    /// The boolean at `idx`, when it is one.
    #[inline]
    pub fn bool_at(&self, idx: c_int) -> Option<bool> {
        let idx = self.slot(idx)?;
        // SAFETY: a slot of the stack; the type is checked first.
        unsafe {
            (ffi::lua_type(self.state, idx) == ffi::LUA_TBOOLEAN)
                .then(|| ffi::lua_toboolean(self.state, idx) != 0)
        }
    }

    /// Calls `f` with the bytes of the string at `idx`, when it is a string (a number is
    /// not converted). The bytes are only borrowed for `f`, which must not change the
    /// stack (the methods of `RawCx` it might call restore what they push).
    #[inline]
    fn with_bytes<R>(&self, idx: c_int, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let idx = self.slot(idx)?;
        // SAFETY: a slot of the stack holding a string (checked), which lua_tolstring
        // does not convert; the string stays alive in its slot while `f` runs: `f` gets
        // only the slice, not this context.
        unsafe {
            if ffi::lua_type(self.state, idx) != ffi::LUA_TSTRING {
                return None;
            }
            let mut len = 0usize;
            let p = ffi::lua_tolstring(self.state, idx, &mut len);
            Some(f(std::slice::from_raw_parts(p.cast::<u8>(), len)))
        }
    }

    /// Whether the value at `idx` is a string with exactly these bytes.
    #[inline]
    pub fn bytes_eq(&self, idx: c_int, expected: &[u8]) -> bool {
        self.with_bytes(idx, |b| b == expected).unwrap_or(false)
    }

    /// The position in `candidates` of the string at `idx`, when it is a string equal to
    /// one of them.
    #[inline]
    pub fn bytes_index(&self, idx: c_int, candidates: &[&[u8]]) -> Option<usize> {
        self.with_bytes(idx, |b| candidates.iter().position(|c| *c == b))
            .flatten()
    }

    /// The string at `idx` as an owned `String`, when it is a string of valid UTF-8.
    #[inline]
    pub fn string_at(&self, idx: c_int) -> Option<String> {
        self.with_bytes(idx, |b| std::str::from_utf8(b).ok().map(str::to_owned))
            .flatten()
    }

    /// The string at `idx` parsed as `T`, when it is UTF-8 text that parses.
    #[inline]
    pub fn parse_at<T: std::str::FromStr>(&self, idx: c_int) -> Option<T> {
        self.with_bytes(idx, |b| std::str::from_utf8(b).ok()?.parse().ok())
            .flatten()
    }

    /// Whether the value at `idx` is a table without a metatable: one whose fields can
    /// be read raw with nothing to fill first (see [`crate::lazy`]).
    #[inline]
    pub fn is_plain_table(&self, idx: c_int) -> bool {
        let Some(idx) = self.table_slot(idx, 1) else {
            return false;
        };
        // SAFETY: a table slot; one slot reserved for the metatable, popped again.
        unsafe {
            if ffi::lua_getmetatable(self.state, idx) != 0 {
                ffi::lua_settop(self.state, -2);
                return false;
            }
            true
        }
    }

    /// Pushes `t[key]` of the table at `idx` without metamethods; returns the index of
    /// the pushed value (pop it with [`pop`](Self::pop)), or `None` (nothing pushed) if
    /// `idx` is not a table or the stack is full.
    #[inline]
    pub fn push_field(&self, idx: c_int, key: &CStr) -> Option<c_int> {
        let idx = self.table_slot(idx, 2)?;
        // SAFETY: a table slot with two slots reserved; lua_rawget runs no metamethod.
        unsafe {
            ffi::lua_pushstring(self.state, key.as_ptr());
            ffi::lua_rawget(self.state, idx);
            Some(ffi::lua_gettop(self.state))
        }
    }

    /// Pushes `t[key]` for a key of any bytes, as [`push_field`](Self::push_field).
    pub fn push_field_bytes(&self, idx: c_int, key: &[u8]) -> Option<c_int> {
        let idx = self.table_slot(idx, 2)?;
        // SAFETY: as `push_field`.
        unsafe {
            ffi::lua_pushlstring(self.state, key.as_ptr().cast(), key.len());
            ffi::lua_rawget(self.state, idx);
            Some(ffi::lua_gettop(self.state))
        }
    }

    /// Pushes `t[i]` of the table at `idx` without metamethods, as
    /// [`push_field`](Self::push_field).
    #[inline]
    pub fn push_index(&self, idx: c_int, i: i64) -> Option<c_int> {
        let idx = self.table_slot(idx, 1)?;
        // SAFETY: as `push_field`.
        unsafe {
            ffi::lua_rawgeti(self.state, idx, i);
            Some(ffi::lua_gettop(self.state))
        }
    }

    /// Calls `f(cx, key, value)` with the stack indices of each entry of the table at
    /// `idx`, in `lua_next` order, until `f` returns `false`; returns whether every
    /// entry was visited. What `f` pushes is popped after it returns; `f` must not change
    /// the table (no method of `RawCx` does). `false` also when `idx` is not a table or
    /// the stack is full.
    pub fn for_each_entry(
        &self,
        idx: c_int,
        mut f: impl FnMut(&Self, c_int, c_int) -> bool,
    ) -> bool {
        let Some(idx) = self.table_slot(idx, 3) else {
            return false;
        };
        // SAFETY: a table slot with three slots reserved; lua_next walks the table from
        // a key restored on top before each step and checked to be still in it.
        unsafe {
            let key = ffi::lua_gettop(self.state) + 1;
            ffi::lua_pushnil(self.state);
            while ffi::lua_next(self.state, idx) != 0 {
                let go_on = self.above(key + 1, || f(self, key, key + 1));
                // `f` cannot pop the key or the value (see `pop`), but it can reach the
                // table through an `mlua` handle (`value_at`) and remove the key:
                // `lua_next` would then raise ("invalid key to 'next'") outside any
                // protected call. The walk goes on only from a key still there.
                ffi::lua_settop(self.state, key);
                let key_present = go_on && {
                    ffi::lua_pushvalue(self.state, key);
                    ffi::lua_rawget(self.state, idx) != ffi::LUA_TNIL
                };
                ffi::lua_settop(self.state, key);
                if !key_present {
                    ffi::lua_settop(self.state, key - 1);
                    return false;
                }
            }
            true
        }
    }

    /// Calls `f(cx, i, at)` for each key `keys[i]`, in order, whose value in the table at
    /// `idx` is not nil, with that value (read raw) pushed at stack index `at`, until `f`
    /// returns `false`; returns whether every key was visited. What `f` pushes is popped
    /// after it returns. `false` also when `idx` is not a table or the stack is full.
    ///
    /// A struct's update reads its fields this way: one raw lookup per field, with no
    /// walk over keys that name no field.
    pub fn for_each_field(
        &self,
        idx: c_int,
        keys: &[&CStr],
        mut f: impl FnMut(&Self, usize, c_int) -> bool,
    ) -> bool {
        let Some(idx) = self.table_slot(idx, 2) else {
            return false;
        };
        // SAFETY: a table slot with two slots reserved, one used per key (the key, then
        // its value in its place); the top is brought back below the value after each
        // key, never above where `f` left it.
        unsafe {
            let at = ffi::lua_gettop(self.state) + 1;
            // `f` cannot pop or replace the table's slot: it is below the floor.
            for (i, key) in keys.iter().enumerate() {
                ffi::lua_pushstring(self.state, key.as_ptr());
                let go_on = ffi::lua_rawget(self.state, idx) == ffi::LUA_TNIL
                    || self.above(at, || f(self, i, at));
                // `f` may have popped below the value: then the stack is not ours to
                // lower further.
                let top = ffi::lua_gettop(self.state);
                ffi::lua_settop(self.state, (at - 1).min(top));
                if !go_on || top < at {
                    return false;
                }
            }
            true
        }
    }

    /// The number of entries of the table at `idx` when it is exactly a sequence
    /// `1..=n` (every key an integer of that range, none missing), else `None`.
    pub fn sequence_len(&self, idx: c_int) -> Option<usize> {
        let idx = self.table_slot(idx, 3)?;
        // SAFETY: a table slot; lua_next on a table we do not change, with the slots
        // reserved; the top is restored.
        unsafe {
            let n = ffi::lua_rawlen(self.state, idx);
            let mut count = 0usize;
            ffi::lua_pushnil(self.state);
            while ffi::lua_next(self.state, idx) != 0 {
                ffi::lua_settop(self.state, -2);
                count += 1;
                if count > n {
                    ffi::lua_settop(self.state, -2);
                    return None;
                }
            }
            // n entries and t[1..=n] all present (checked by the caller as it reads
            // them, `push_index` giving nil otherwise) means the keys are exactly 1..=n.
            (count == n).then_some(n)
        }
    }

    /// The value at `idx` as an `mlua::Value` (what the slow paths decode).
    pub fn value_at(&self, idx: c_int) -> mlua::Result<Value> {
        let idx = self.slot(idx).ok_or_else(stack_error)?;
        self.reserve(1)?;
        // SAFETY: `raw.state()` is `self.state` (constructor contract); one slot pushed
        // and popped again by `pop_value`.
        self.lua.exec_raw_lua(|raw| unsafe {
            ffi::lua_pushvalue(self.state, idx);
            Ok(raw.pop_value())
        })
    }

    /// Pops `n` values: at most those pushed since the context was made, and never a
    /// slot that a method running a callback of yours relies on (inside
    /// [`push_table`](Self::push_table)'s `fill` or an encoder of a field, not the table;
    /// inside a walk, not the key and the value).
    pub fn pop(&self, n: c_int) {
        // SAFETY: settop to a top between the floor and the current top.
        unsafe {
            let top = ffi::lua_gettop(self.state);
            let lowest = self.floor.get().clamp(0, top);
            ffi::lua_settop(self.state, (top - n.clamp(0, top)).max(lowest));
        }
    }

    /// Runs `f` with the slots up to `floor` out of [`pop`](Self::pop)'s reach.
    #[inline(always)]
    fn above<R>(&self, floor: c_int, f: impl FnOnce() -> R) -> R {
        /// Puts the floor back, on unwinding too (a caller may catch an encoder's
        /// panic and go on with this context).
        struct Restore<'c>(&'c std::cell::Cell<c_int>, c_int);
        impl Drop for Restore<'_> {
            #[inline(always)]
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.floor, self.floor.get());
        self.floor.set(floor.max(self.floor.get()));
        f()
    }
}

/// The table being filled by [`RawCx::push_table`].
pub struct TableCx<'c, 'a> {
    cx: &'c RawCx<'a>,
    index: c_int,
}

impl<'c, 'a> TableCx<'c, 'a> {
    /// The table at absolute stack index `index` of `cx`, to set fields on.
    ///
    /// # Safety
    /// `index` is an absolute index of a table without a metatable (setting a field must
    /// run no Lua code), and stays so while the `TableCx` is used. `cx` must have been
    /// made with the table already on the stack (its top then at `index`), so that
    /// nothing done through `cx` can pop it (see [`RawCx::pop`]).
    pub unsafe fn existing(cx: &'c RawCx<'a>, index: c_int) -> Self {
        debug_assert!(index >= cx.floor.get(), "the table is within the context");
        TableCx { cx, index }
    }

    /// The context, to push nested values.
    pub fn cx(&self) -> &RawCx<'a> {
        self.cx
    }

    /// Whether this table can be set now: it is still in its slot, and no table pushed
    /// after it is being filled (a `TableCx` of an outer table, used from inside an
    /// inner table's `fill` or a walk's callback, is refused: it could pop what those
    /// rely on).
    ///
    /// At or above the floor, the table's slot cannot have been popped (`pop` stops at
    /// the floor, which was at most `index` when this `TableCx` was made), so it still
    /// holds the table.
    #[inline]
    fn usable(&self) -> mlua::Result<()> {
        if self.index >= self.cx.floor.get() {
            Ok(())
        } else {
            Err(mlua::Error::RuntimeError(
                "a table was set while another one was being filled above it".into(),
            ))
        }
    }

    /// Sets field `key` to `value` (nil when `value` pushes nil, so it stays absent).
    #[inline]
    pub fn field<T: LuaEncode + ?Sized>(&self, key: &CStr, value: &T) -> mlua::Result<()> {
        self.usable()?;
        // The encoder cannot pop the table (see `RawCx::pop`).
        self.cx.above(self.index, || value.push_raw(self.cx))?;
        self.one_value_pushed()?;
        // SAFETY: `index` is the table's absolute index and the value is on top; the
        // table has no metatable (constructors' contract), so setting a field runs no
        // Lua code.
        unsafe { ffi::lua_setfield(self.cx.state, self.index, key.as_ptr()) };
        Ok(())
    }

    /// Checks that exactly one value sits above the table (what an encoder must push);
    /// otherwise drops what is there and fails.
    #[inline]
    fn one_value_pushed(&self) -> mlua::Result<()> {
        // SAFETY: reading and lowering the top of a live stack, never below the table.
        unsafe {
            let top = ffi::lua_gettop(self.cx.state);
            if top == self.index + 1 {
                return Ok(());
            }
            if top > self.index {
                ffi::lua_settop(self.cx.state, self.index);
            }
        }
        Err(mlua::Error::RuntimeError(
            "an encoder did not push exactly one value".into(),
        ))
    }

    /// Sets field `key` to the value an encoder just pushed on top of the table. An
    /// error, and nothing changes, if nothing was pushed above the table.
    #[inline]
    pub fn set(&self, key: &CStr) -> mlua::Result<()> {
        self.usable()?;
        // SAFETY: `state` is live; we only set the field when a value sits above the
        // table, so the table stays at `index`.
        unsafe {
            if ffi::lua_gettop(self.cx.state) <= self.index {
                return Err(stack_error());
            }
            ffi::lua_setfield(self.cx.state, self.index, key.as_ptr());
        }
        Ok(())
    }

    /// Sets `t[k] = v` from a key and a value pushed, in that order, above the table. An
    /// error, and nothing changes, unless exactly those two sit above it.
    pub fn set_pair(&self) -> mlua::Result<()> {
        self.usable()?;
        // SAFETY: as in `set`; both slots above the table are checked.
        unsafe {
            // A nil or NaN key would make `lua_rawset` raise, and a Lua error must not
            // unwind through Rust frames: refused here instead.
            let nan_key = ffi::lua_type(self.cx.state, -2) == ffi::LUA_TNUMBER
                && ffi::lua_isinteger(self.cx.state, -2) == 0
                && ffi::lua_tonumberx(self.cx.state, -2, std::ptr::null_mut()).is_nan();
            if ffi::lua_gettop(self.cx.state) != self.index + 2
                || ffi::lua_type(self.cx.state, -2) == ffi::LUA_TNIL
                || nan_key
            {
                return Err(stack_error());
            }
            ffi::lua_rawset(self.cx.state, self.index);
        }
        Ok(())
    }

    /// Sets field `key` (any bytes) to `value`.
    pub fn field_bytes<T: LuaEncode + ?Sized>(&self, key: &[u8], value: &T) -> mlua::Result<()> {
        self.usable()?;
        self.cx.push_bytes(key)?;
        // The encoder cannot pop the key or the table (see `RawCx::pop`).
        if let Err(e) = self.cx.above(self.index + 1, || value.push_raw(self.cx)) {
            // SAFETY: back to the table, never below it.
            unsafe { ffi::lua_settop(self.cx.state, self.index) };
            return Err(e);
        }
        // SAFETY: reading the top of a live stack; back to the table on a bad count.
        unsafe {
            if ffi::lua_gettop(self.cx.state) != self.index + 2 {
                ffi::lua_settop(self.cx.state, self.index);
                return Err(mlua::Error::RuntimeError(
                    "an encoder did not push exactly one value".into(),
                ));
            }
        }
        // SAFETY: key and value are the two top slots; the table is fresh.
        unsafe { ffi::lua_rawset(self.cx.state, self.index) };
        Ok(())
    }

    /// Sets sequence item `i` (1-based) to `value`.
    #[inline]
    pub fn item<T: LuaEncode + ?Sized>(&self, i: i64, value: &T) -> mlua::Result<()> {
        self.usable()?;
        // The encoder cannot pop the table (see `RawCx::pop`).
        self.cx.above(self.index, || value.push_raw(self.cx))?;
        self.one_value_pushed()?;
        // SAFETY: the value is on top of the table at `index`.
        unsafe { ffi::lua_rawseti(self.cx.state, self.index, i) };
        Ok(())
    }
}

/// Decodes the value at stack index `idx` of `cx`: the raw fast path
/// ([`LuaDecode::decode_raw`]) when it applies, else [`LuaDecode::decode`].
#[inline]
pub fn decode_at<T: LuaDecode>(cx: &RawCx<'_>, idx: c_int) -> Result<T, DecodeError> {
    if let Some(v) = T::decode_raw(cx, idx) {
        return Ok(v);
    }
    let v = cx
        .value_at(idx)
        .map_err(|e| DecodeError::invalid(e.to_string()))?;
    T::decode(&v)
}

/// The slow path of one value inside a raw decode: [`LuaDecode::decode`] on the value
/// at `idx`, `None` on any error (the caller's whole decode then runs the slow path,
/// which reports it). For types without a fast path of their own.
#[doc(hidden)]
pub fn decode_slow<T: LuaDecode>(cx: &RawCx<'_>, idx: c_int) -> Option<T> {
    T::decode(&cx.value_at(idx).ok()?).ok()
}

/// Runs `f` with `table` pushed on the stack of its Lua (at the index given), and pops
/// it again.
///
/// ```
/// use frrhook_codec::{raw::{decode_at, with_table}, mlua::{Lua, Table}};
/// let lua = Lua::new();
/// let t: Table = lua.load("return { a = 7 }").eval().unwrap();
/// let a: u8 = with_table(&t, |cx, idx| {
///     let at = cx.push_field(idx, c"a").unwrap();
///     let a = decode_at::<u8>(cx, at);
///     cx.pop(1);
///     a
/// }).unwrap().unwrap();
/// assert_eq!(a, 7);
/// ```
pub fn with_table<R>(
    table: &mlua::Table,
    f: impl FnOnce(&RawCx<'_>, c_int) -> R,
) -> mlua::Result<R> {
    let Some(lua) = table.weak_lua().try_upgrade() else {
        return Err(mlua::Error::CallbackDestructed);
    };
    lua.exec_raw_lua(|raw| {
        let state = raw.state();
        // SAFETY: `state` is the current stack of the table's Lua and no memory limit is
        // set outside calls; the table is pushed in a reserved slot and the top restored.
        unsafe {
            if ffi::lua_checkstack(state, 2) == 0 {
                return Err(stack_error());
            }
            let top = ffi::lua_gettop(state);
            raw.push(table)?;
            let cx = RawCx::new(&lua, state);
            let r = f(&cx, top + 1);
            ffi::lua_settop(state, top);
            Ok(r)
        }
    })
}

/// Reads `table[key]` without metamethods, as `Table::raw_get` does but with one stack
/// push of the table and no intermediate conversions: what decoders and the hook call
/// use to read returned tables.
///
/// ```
/// use frrhook_codec::{raw::get_field, mlua::{Lua, Table, Value}};
/// let lua = Lua::new();
/// let t: Table = lua.load("return { a = 1 }").eval().unwrap();
/// assert!(matches!(get_field(&t, b"a").unwrap(), Value::Integer(1)));
/// assert!(get_field(&t, b"b").unwrap().is_nil());
/// ```
pub fn get_field(table: &mlua::Table, key: &[u8]) -> mlua::Result<Value> {
    with_table(table, |cx, idx| {
        let at = cx.push_field_bytes(idx, key).ok_or_else(stack_error)?;
        let v = if cx.is_nil(at) {
            Ok(Value::Nil)
        } else {
            cx.value_at(at)
        };
        cx.pop(1);
        v
    })?
}
