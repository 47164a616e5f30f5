//! Lazy tables: how a hook passes a `&T` argument without building its table unless the
//! script reads it.
//!
//! A struct deriving `LuaCodec` implements [`LuaFields`]: it can set its fields on a
//! table that already exists. When such a struct is also `Clone + 'static`, a hook
//! passes it by reference as an *empty* table whose metatable encodes each field the
//! first time the script reads it ([`LuaFields::push_field`]), and sets them all, in
//! declaration order ([`LuaFields::fill_fields`]), before anything that looks at the
//! whole table (`pairs`, `#`, `next`, `rawget`, ...), leaving a plain table laid out
//! as a full one. A script that never looks at `peer` never pays for it, one that reads
//! one field pays for that field. When the call ends, a table not made whole keeps a
//! copy of the value, so a script that kept it sees exactly what it would have seen in
//! a fresh table. The
//! hook runtime does the bookkeeping (only for the arguments of a call: nothing here
//! lets other code make a lazy table); decoders call [`force`] so that they never read
//! a table that is still empty.
//!
//! [`LuaEncode::lazy_source`] says whether a value can be one:
//! ```
//! use frrhook_codec::{LuaCodec, LuaEncode};
//!
//! #[derive(Clone, LuaCodec)]
//! #[lua(crate = "frrhook_codec")]
//! struct Peer { remote_as: u32 }
//!
//! #[derive(LuaCodec)] // not `Clone`: always encoded in full
//! #[lua(crate = "frrhook_codec")]
//! struct Once { n: u32 }
//!
//! let peer = Peer { remote_as: 3356 };
//! let source = peer.lazy_source().expect("a derived Clone struct");
//! assert_eq!(source.field_count(), 1);
//! assert!(Once { n: 1 }.lazy_source().is_none());
//! assert!(7u32.lazy_source().is_none());
//! ```

use std::ffi::c_void;

use mlua::{Table, ffi};

use crate::LuaEncode;
use crate::raw::{RawCx, TableCx};

/// A struct whose named fields can be set, one by one, on an existing table.
/// `#[derive(LuaCodec)]` implements it for structs with named fields.
pub trait LuaFields: LuaEncode {
    /// How many fields there are (skipped fields do not count).
    const FIELD_COUNT: usize;

    /// The fields' keys in Lua, in declaration order (skipped fields left out):
    /// `FIELD_NAMES.len() == FIELD_COUNT`.
    const FIELD_NAMES: &'static [&'static str];

    /// Sets every field of `self` on `table`, a fresh table without a metatable
    /// (fields that encode to nil stay absent).
    fn fill_fields(&self, table: &TableCx<'_, '_>) -> mlua::Result<()>;

    /// Pushes the value of field `i` (the key `FIELD_NAMES[i]`): exactly one value, nil
    /// for an `i` out of range.
    fn push_field(&self, i: usize, cx: &RawCx<'_>) -> mlua::Result<()>;

    /// Field `i` as a lazy source of its own, when its type can be one (a derived
    /// `Clone` struct): then a lazy table passes it as a lazy table too.
    fn field_source(&self, i: usize) -> Option<&dyn LazySource>;
}

/// A value a lazy table is filled from: every `T: LuaFields + Clone + 'static`.
pub trait LazySource {
    /// How many fields there are.
    fn field_count(&self) -> usize;
    /// Sets every field, in declaration order, on `table` (which has no metatable).
    fn fill(&self, table: &TableCx<'_, '_>) -> mlua::Result<()>;
    /// The fields' keys, in declaration order.
    fn field_names(&self) -> &'static [&'static str];
    /// Pushes field `i` (of [`field_names`](LazySource::field_names)): one value.
    fn push_field(&self, i: usize, cx: &RawCx<'_>) -> mlua::Result<()>;
    /// Field `i` as a lazy source of its own, if its type can be one.
    fn field_source(&self, i: usize) -> Option<&dyn LazySource>;
    /// An owned copy, kept by a table the script did not read in full during its call.
    fn snapshot(&self) -> Box<dyn LazySource>;
}

impl<T: LuaFields + Clone + 'static> LazySource for T {
    fn field_count(&self) -> usize {
        T::FIELD_COUNT
    }
    fn fill(&self, table: &TableCx<'_, '_>) -> mlua::Result<()> {
        self.fill_fields(table)
    }
    fn field_names(&self) -> &'static [&'static str] {
        T::FIELD_NAMES
    }
    fn push_field(&self, i: usize, cx: &RawCx<'_>) -> mlua::Result<()> {
        LuaFields::push_field(self, i, cx)
    }
    fn field_source(&self, i: usize) -> Option<&dyn LazySource> {
        LuaFields::field_source(self, i)
    }
    fn snapshot(&self) -> Box<dyn LazySource> {
        Box::new(self.clone())
    }
}

/// Selects, in `#[derive(LuaCodec)]`'s [`LuaEncode::lazy_source`], whether a type can be
/// a lazy source: [`AsLazy`] when it is a [`LazySource`], else [`NotLazy`] (by auto-ref).
#[doc(hidden)]
pub struct LazyProbe<'a, T: ?Sized>(pub &'a T);

/// See [`LazyProbe`].
#[doc(hidden)]
pub trait AsLazy<'a> {
    /// The value as a lazy source.
    fn lazy_source(&self) -> Option<&'a dyn LazySource>;
}
impl<'a, T: LazySource> AsLazy<'a> for LazyProbe<'a, T> {
    #[inline]
    fn lazy_source(&self) -> Option<&'a dyn LazySource> {
        Some(self.0)
    }
}

/// See [`LazyProbe`].
#[doc(hidden)]
pub trait NotLazy<'a> {
    /// `None`: the value is always encoded in full.
    fn lazy_source(&self) -> Option<&'a dyn LazySource>;
}
impl<'a, T: ?Sized> NotLazy<'a> for &LazyProbe<'a, T> {
    #[inline]
    fn lazy_source(&self) -> Option<&'a dyn LazySource> {
        None
    }
}

/// The key, in a lazy table's metatable, of the function that fills the table: what
/// [`force`] calls.
static FILL_KEY: u8 = 0;

/// The light-userdata key under which a lazy table's metatable holds its fill function.
pub fn fill_key() -> *const c_void {
    std::ptr::from_ref(&FILL_KEY).cast()
}

/// Fills `table` if it is a lazy table still waiting for its fields (nothing otherwise):
/// decoders call it before reading a table, so that they read what the script would.
/// An error when the fields could not be encoded.
///
/// ```
/// use frrhook_codec::{lazy::force, mlua::{Lua, Table}};
/// let lua = Lua::new();
/// let t: Table = lua.load("return { a = 1 }").eval().unwrap();
/// force(&t).unwrap(); // a plain table: nothing to do
/// ```
pub fn force(table: &Table) -> mlua::Result<()> {
    crate::raw::with_table(table, |cx, idx| {
        let state = cx.state();
        // SAFETY: `state` is the stack `with_table` pushed the table on (at `idx`), which
        // restores its top afterwards; three more slots are reserved here. The fill
        // function is called under `lua_pcall`, so its errors come back as a status.
        unsafe {
            if ffi::lua_checkstack(state, 3) == 0 {
                return Err(mlua::Error::StackError);
            }
            if ffi::lua_getmetatable(state, idx) == 0
                || ffi::lua_rawgetp(state, -1, fill_key()) != ffi::LUA_TFUNCTION
            {
                return Ok(());
            }
            ffi::lua_pushvalue(state, idx);
            if ffi::lua_pcall(state, 1, 0, 0) == ffi::LUA_OK {
                return Ok(());
            }
            let mut len = 0usize;
            let p = ffi::lua_tolstring(state, -1, &mut len);
            let msg = if p.is_null() {
                "a lazy table could not be filled".to_string()
            } else {
                String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len))
                    .into_owned()
            };
            Err(mlua::Error::RuntimeError(msg))
        }
    })?
}
