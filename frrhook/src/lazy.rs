//! Lazy `&T` arguments: the runtime side of [`crate::codec::lazy`].
//!
//! A hook argument passed as `&T`, where `T` derives `LuaCodec` and is `Clone +
//! 'static`, reaches the script as an empty table, sized as the full table would be,
//! whose metatable (`live`) encodes a field the first time the script reads it (and
//! only that field), so a route-map that never looks at `peer` never pays for `peer`'s
//! fields, and one that reads `peer.remote_as` pays for that one.
//!
//! What a script can observe is what it observes of a table built in full:
//! - reading and assigning a field (`__index`, `__newindex`, hence also `ipairs` and
//!   the `table` library) work field by field: the values the script has read or
//!   assigned so far live in the table's *hidden* table (see `Touched`), and the
//!   table itself stays empty, so every such access goes through the metamethods;
//! - every other way to look at the table makes it whole first: assigning a key that
//!   names no field or a field the full table does not have (a nil one, which a full
//!   table would add after its fields), `pairs` (the sandbox's, which returns the filling `next` even for
//!   plain tables), `#` (`__len`), and the sandbox's `next`, `rawget`, `rawset`,
//!   `rawlen`, `getmetatable` and `setmetatable` (see [`SANDBOX_WRAPPERS`]); decoders
//!   call [`crate::codec::lazy::force`]. Making it whole sets every field in
//!   declaration order (from the hidden table where the script touched it, a field it
//!   made nil keeping its slot as in a full table) and removes the metatable: it is then
//!   a plain table laid out as the full table is, so `pairs` visits its keys in the same
//!   order whatever order the fields were read in. For a type read field by field,
//!   making it whole first encodes every untouched field into a scratch sequence and
//!   only then sets them all, so a field that cannot be encoded leaves the table as it
//!   was.
//!   Reading the last untouched field makes it whole too, and so does the 17th field
//!   access (`PER_FIELD_ACCESSES`; best effort: if a field the script never read cannot
//!   be encoded, the table stays field by field), so that a script reading the table
//!   in a loop reads it raw from then on. Types with
//!   fewer than 9 fields (one fill costs less than reading a few of them one by one)
//!   or more than 64 are made whole on the first touch;
//! - a field that is itself a derived `Clone` struct (`peer.stats`) is read as a lazy
//!   table of the same call (ended, and kept, with it); a field of a table kept past
//!   its call is encoded in full instead, since its copy may go first;
//! - when the call ends, a table the script has not made whole keeps a copy of the value (a
//!   `Clone` in a slab whose slot a weak-keyed table gives; a sweep frees the slots of
//!   tables the collector freed), so a table kept in a global shows the values of *its*
//!   call, never of a later one (the fields it read keep the values they had; the others
//!   come from the copy). At most [`MAX_KEPT`] copies live in one state (they sit
//!   outside the memory cap); past that, such a table is made whole when its call
//!   ends, in Lua memory;
//! - a field that cannot be encoded (a `u64` above `i64::MAX`) raises an error naming
//!   the argument when it is read or the table made whole, and the call fails with
//!   [`ErrorKind::Encode`](crate::ErrorKind::Encode) even if the script caught it; a
//!   fill after the call (the host decoding a kept table) reports to its own caller;
//! - an encoder that panics while a table is filled inside the script does not unwind
//!   through Lua: the panic is caught, the script sees an error, and the panic resumes
//!   in the host once the call has ended its tables.
//!
//! Only the runtime makes lazy tables (`push_lazy` is `unsafe`: the value must outlive
//! the call; generated code reaches it through `__private::push_ref_arg`, whose
//! lifetime brand refuses values that do not live as long as the arguments struct). The
//! machinery belongs to the Lua state (app data), so a state kept alive from outside
//! still fills its kept tables after the runtime replaced it. An encoder that reads a
//! lazy table (through the host) while another is being filled gets an error.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_int, c_void};

use mlua::{Lua, WeakLua, ffi};

use crate::codec::LuaEncode;
use crate::codec::lazy::{LazySource, fill_key};
use crate::codec::raw::{RawCx, TableCx};

/// Untouched arguments a state keeps copies of, at most (see the module docs).
pub(crate) const MAX_KEPT: usize = 4096;

/// A lazy table of the running call, and what it is filled from.
#[derive(Clone, Copy)]
struct Live {
    table: *const c_void,
    /// Borrowed for the call only: [`LazyArgs::expire`] drops every `Live` of a call
    /// before the call returns.
    source: *const (dyn LazySource + 'static),
    name: &'static str,
    touched: Touched,
}

/// The copy a table not read in full keeps after its call.
struct KeptInner {
    source: Box<dyn LazySource>,
    name: &'static str,
    touched: Touched,
}

/// The fields of a lazy table the script has read or assigned one by one, before
/// anything made the table whole. Their current values are in the table's *hidden*
/// table (`hidden_by[table]`), not in the table itself, which stays empty until it is
/// filled whole: it is then filled in field order, like a full table, so its layout
/// (and `pairs`' order) is a full table's whatever order the fields were read in.
#[derive(Clone, Copy, Default)]
struct Touched {
    /// Bit `i`: field `i`'s current value is in the hidden table.
    fields: u64,
    /// Bit `i` (of a touched field): the full table has field `i` (its value was not
    /// nil), so a whole fill gives it a slot even if the script made it nil since.
    had: u64,
    /// Field reads and writes so far through the metamethods.
    accesses: u32,
}

/// A field access to serve field by field (see [`LazyArgs::field_access`]).
struct FieldAccess {
    entry: Entry,
    source: *const (dyn LazySource + 'static),
    name: &'static str,
    touched: Touched,
    /// The field's position.
    i: usize,
}

/// What a field access of a lazy table is.
enum Access {
    Field(FieldAccess),
    /// A key that names no field.
    NotAField,
    /// The table is to be made whole first (or has no bookkeeping).
    Whole,
}

/// Field accesses through the metamethods after which a table is made whole, so that
/// a script that keeps reading it (in a loop) reads it raw from then on: per-field
/// reads never cost much more than one whole fill.
const PER_FIELD_ACCESSES: u32 = 16;

/// Types with more fields than this are filled whole on their first touch.
const PER_FIELD_MAX: usize = 64;

/// Types with fewer fields than this are filled whole on their first touch too: for a
/// small table, one fill (after which every access is raw and no copy is kept when the
/// call ends) costs less than reading two or three fields one by one. (Measured on the
/// demo's `zebra.on_rib_process_dplane_results`, 6 fields of which the script reads
/// two: 2.2 µs per call filled whole, 2.6 µs field by field.)
const PER_FIELD_MIN: usize = 9;

/// Whether a type with `n` fields is read field by field.
fn per_field(n: usize) -> bool {
    (PER_FIELD_MIN..=PER_FIELD_MAX).contains(&n)
}

/// The mask of every field of a type with `n` fields (`n <= PER_FIELD_MAX`).
fn all_fields(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// The two lazy metatables: of a running call's table, and of one kept past its call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Live,
    Expired,
}

/// Where a lazy table's bookkeeping lives.
#[derive(Clone, Copy)]
enum Entry {
    /// `live[i]`.
    Live(usize),
    /// `kept[i]`.
    Kept(usize),
}

/// The kept copies, by slot; a table's slot is `kept_by[table]` in Lua.
#[derive(Default)]
struct Slab {
    slots: Vec<Option<KeptInner>>,
    free: Vec<usize>,
    /// Occupied slots.
    used: usize,
    /// Sweep when `used` reaches this.
    next_sweep: usize,
}

impl Slab {
    fn insert(&mut self, k: KeptInner) -> usize {
        self.used += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(k);
                i
            }
            None => {
                self.slots.push(Some(k));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if let Some(slot) = self.slots.get_mut(i)
            && slot.take().is_some()
        {
            self.used -= 1;
            self.free.push(i);
        }
    }
}

/// Registry references of the tables the mechanism uses.
#[derive(Default, Clone, Copy)]
struct Refs {
    live_mt: c_int,
    expired_mt: c_int,
    /// `table -> slot of its kept copy`, weak keys: the collector drops the entry of
    /// a table it frees, and a sweep then frees the slot.
    kept_by: c_int,
    /// The lazy tables of the running call, by position (so `expire` can reach them).
    pinned: c_int,
    /// `table -> its hidden table` (see [`Touched`]), weak keys: an ephemeron table,
    /// so a hidden table lives exactly as long as its lazy table.
    hidden_by: c_int,
}

/// Owns a state's [`LazyArgs`] (app data of the state).
struct LazyOwner(#[allow(dead_code)] Box<LazyArgs>);

/// The lazy-argument machinery of one Lua state. Boxed: its address is an upvalue of
/// the metamethods.
pub(crate) struct LazyArgs {
    /// The state this belongs to (weak: the state owns this, as app data).
    lua: WeakLua,
    /// A table is being filled (filling another from an encoder is refused).
    filling: Cell<bool>,
    live: RefCell<Vec<Live>>,
    failed: RefCell<Option<String>>,
    /// A panic of an encoder while a table was filled inside Lua, to resume once the
    /// call is over (unwinding through Lua's C frames is not allowed).
    panic: RefCell<Option<Box<dyn std::any::Any + Send>>>,
    /// Calls running on this state (fill failures count only inside one).
    in_call: Cell<u32>,
    /// Set when `failed` or `panic` holds something: what a call checks first.
    trouble: Cell<bool>,
    /// Set for good once a table was left with its `live` metatable and no entry (its
    /// copy could neither be made nor its fields set): such a table raises when read,
    /// so every later call must treat the state as holding lazy tables.
    orphaned: Cell<bool>,
    kept: RefCell<Slab>,
    refs: Cell<Refs>,
    live_mt: Cell<*const c_void>,
    expired_mt: Cell<*const c_void>,
}

/// The sandbox functions that fill a lazy table before doing what Lua's do, in the
/// order the prelude receives them.
pub(crate) const SANDBOX_WRAPPERS: [(&CStr, ffi::lua_CFunction); 7] = [
    (c"next", sandbox_next),
    (c"rawget", sandbox_rawget),
    (c"rawset", sandbox_rawset),
    (c"rawlen", sandbox_rawlen),
    (c"getmetatable", sandbox_getmetatable),
    (c"force", sandbox_force),
    (c"pairs", sandbox_pairs),
];

impl LazyArgs {
    /// Sets up the metatables in `lua`; returns the machinery and the sandbox wrappers
    /// (as [`SANDBOX_WRAPPERS`]) to hand to the prelude.
    /// Sets up the metatables in `lua` and gives the machinery to the state (as app
    /// data, so that it lives exactly as long as the state whose closures point at it).
    /// Returns a pointer to it, valid while `lua` lives, and the sandbox wrappers.
    pub(crate) fn install(lua: &Lua) -> mlua::Result<(*const LazyArgs, Vec<mlua::Function>)> {
        let (this, wrappers) = Self::new(lua)?;
        let ptr: *const LazyArgs = &*this;
        // The box moves into the state's app data; its heap address does not change.
        lua.set_app_data(LazyOwner(this));
        Ok((ptr, wrappers))
    }

    fn new(lua: &Lua) -> mlua::Result<(Box<LazyArgs>, Vec<mlua::Function>)> {
        let this = Box::new(LazyArgs {
            lua: lua.weak(),
            filling: Cell::new(false),
            live: RefCell::new(Vec::new()),
            failed: RefCell::new(None),
            panic: RefCell::new(None),
            in_call: Cell::new(0),
            trouble: Cell::new(false),
            orphaned: Cell::new(false),
            kept: RefCell::new(Slab::default()),
            refs: Cell::new(Refs::default()),
            live_mt: Cell::new(std::ptr::null()),
            expired_mt: Cell::new(std::ptr::null()),
        });
        let me = std::ptr::from_ref::<LazyArgs>(&*this)
            .cast_mut()
            .cast::<c_void>();
        let wrappers = lua.exec_raw_lua(|raw| {
            let state = raw.state();
            // SAFETY: `state` is `lua`'s current stack; every push is within the 8
            // reserved slots and balanced (each table goes to the registry, each
            // wrapper is popped into a `Function`). The closures' upvalue is the boxed
            // `LazyArgs`, which lives as long as the state (it is kept beside it).
            unsafe {
                if ffi::lua_checkstack(state, 8) == 0 {
                    return Err(mlua::Error::StackError);
                }
                // The `next` scripts get (it fills a lazy table first): what `pairs`
                // returns, for lazy and plain tables alike. Kept at `next_at`.
                ffi::lua_pushlightuserdata(state, me);
                ffi::lua_pushcclosure(state, sandbox_next, 1);
                let next_at = ffi::lua_gettop(state);
                let metatable = || {
                    ffi::lua_createtable(state, 0, 6);
                    for (key, f) in [
                        (c"__index", lazy_index as ffi::lua_CFunction),
                        (c"__newindex", lazy_newindex),
                        (c"__len", lazy_len),
                    ] {
                        ffi::lua_pushlightuserdata(state, me);
                        ffi::lua_pushcclosure(state, f, 1);
                        ffi::lua_setfield(state, -2, key.as_ptr());
                    }
                    ffi::lua_pushlightuserdata(state, me);
                    ffi::lua_pushvalue(state, next_at);
                    ffi::lua_pushcclosure(state, lazy_pairs, 2);
                    ffi::lua_setfield(state, -2, c"__pairs".as_ptr());
                    ffi::lua_pushboolean(state, 0);
                    ffi::lua_setfield(state, -2, c"__metatable".as_ptr());
                    ffi::lua_pushlightuserdata(state, me);
                    ffi::lua_pushcclosure(state, sandbox_force, 1);
                    ffi::lua_rawsetp(state, -2, fill_key());
                    let p = ffi::lua_topointer(state, -1);
                    (p, ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX))
                };
                let (live_p, live_mt) = metatable();
                let (expired_p, expired_mt) = metatable();
                let weak_keyed = || {
                    ffi::lua_createtable(state, 0, 0);
                    ffi::lua_createtable(state, 0, 1);
                    ffi::lua_pushstring(state, c"k".as_ptr());
                    ffi::lua_setfield(state, -2, c"__mode".as_ptr());
                    ffi::lua_setmetatable(state, -2);
                    ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX)
                };
                let kept_by = weak_keyed();
                let hidden_by = weak_keyed();
                ffi::lua_createtable(state, 8, 0);
                let pinned = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                this.live_mt.set(live_p);
                this.expired_mt.set(expired_p);
                this.refs.set(Refs {
                    live_mt,
                    expired_mt,
                    kept_by,
                    pinned,
                    hidden_by,
                });
                let mut wrappers = Vec::with_capacity(SANDBOX_WRAPPERS.len());
                for (name, f) in SANDBOX_WRAPPERS {
                    if name == c"next" {
                        // The very function `pairs` returns, as in Lua.
                        ffi::lua_pushvalue(state, next_at);
                    } else if name == c"pairs" {
                        ffi::lua_pushlightuserdata(state, me);
                        ffi::lua_pushvalue(state, next_at);
                        ffi::lua_pushcclosure(state, f, 2);
                    } else {
                        ffi::lua_pushlightuserdata(state, me);
                        ffi::lua_pushcclosure(state, f, 1);
                    }
                    match raw.pop_value() {
                        mlua::Value::Function(f) => wrappers.push(f),
                        _ => return Err(mlua::Error::StackError),
                    }
                }
                ffi::lua_settop(state, next_at - 1);
                Ok(wrappers)
            }
        })?;
        Ok((this, wrappers))
    }

    /// Whether any lazy table may exist in this state: one of a running call, or an
    /// untouched one kept past its call (whose copy is alive).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.orphaned.get() || self.kept.borrow().used > 0 || !self.live.borrow().is_empty()
    }

    /// Whether a call that started at `mark` made lazy tables, or a fill failed: whether
    /// [`expire`](Self::expire) and [`take_failure`](Self::take_failure) have work.
    #[inline]
    pub(crate) fn busy_since(&self, mark: usize) -> bool {
        self.trouble.get() || self.live.borrow().len() > mark
    }

    /// Where the lazy tables of a call start: pass it to [`expire`](Self::expire).
    pub(crate) fn mark(&self) -> usize {
        self.live.borrow().len()
    }

    /// The error of a table that could not be filled during the call, if any.
    pub(crate) fn take_failure(&self) -> Option<String> {
        if !self.trouble.get() {
            return None;
        }
        self.failed.borrow_mut().take()
    }

    /// A call starts (fill failures from now on are the call's).
    pub(crate) fn enter(&self) {
        self.in_call.set(self.in_call.get() + 1);
    }

    /// A call ended.
    pub(crate) fn leave(&self) {
        self.in_call.set(self.in_call.get().saturating_sub(1));
    }

    /// The panic of an encoder caught while a table was filled, if any. Clears the
    /// trouble flag: call it after [`take_failure`](Self::take_failure).
    pub(crate) fn take_panic(&self) -> Option<Box<dyn std::any::Any + Send>> {
        if !self.trouble.replace(false) {
            return None;
        }
        *self.failed.borrow_mut() = None;
        self.panic.borrow_mut().take()
    }

    /// Copies of untouched arguments alive in this state.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.kept.borrow().used
    }

    /// Ends the lazy tables made since `mark`: each one the script never touched keeps
    /// a copy of its value (or is filled, past [`MAX_KEPT`]). Call it before the
    /// borrowed arguments go away, whatever the call's outcome.
    ///
    /// # Safety
    /// `state` is a thread of this state, with no memory limit set.
    pub(crate) unsafe fn expire(&self, state: *mut ffi::lua_State, mark: usize) {
        if self.live.borrow().len() <= mark {
            return;
        }
        let refs = self.refs.get();
        // SAFETY: `state` is a live thread (contract); 6 slots are reserved and the top
        // is restored. The sources in `ended` are still borrowed (contract).
        unsafe {
            if ffi::lua_checkstack(state, 6) == 0 {
                // Cannot happen after the caller dropped the call's results (the stack
                // held the arguments before); without room nothing can be ended safely.
                std::process::abort();
            }
            let ended: Vec<Live> = self.live.borrow_mut().split_off(mark);
            let top = ffi::lua_gettop(state);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.pinned.into());
            let pinned = top + 1;
            for (i, entry) in ended.iter().enumerate() {
                let pos = (mark + i + 1) as ffi::lua_Integer;
                ffi::lua_rawgeti(state, pinned, pos);
                let t = ffi::lua_gettop(state);
                if self.is_live(state, t) {
                    self.end_table(state, t, entry);
                }
                ffi::lua_settop(state, t - 1);
                ffi::lua_pushnil(state);
                ffi::lua_rawseti(state, pinned, pos);
            }
            ffi::lua_settop(state, top);
        }
    }

    /// Ends the lazy table at absolute index `t`, whose source (`entry`'s) is about to
    /// go: it keeps a copy of the value, or, past [`MAX_KEPT`], is made whole now.
    ///
    /// # Safety
    /// `state` is a thread of this state with 6 free slots; `entry.source` still valid.
    unsafe fn end_table(&self, state: *mut ffi::lua_State, t: c_int, entry: &Live) {
        // SAFETY: per the contract.
        unsafe {
            if self.room_to_keep(state) {
                self.keep(state, t, entry);
                return;
            }
            // Past the bound: fill it now, in Lua memory. A field that cannot be encoded
            // is not this call's failure (the script did not read it): keep a copy after
            // all, so that reading it later fails then.
            let mut touched = entry.touched;
            if self
                .make_whole(state, t, &*entry.source, entry.name, &mut touched, false)
                .is_ok()
            {
                ffi::lua_pushnil(state);
                ffi::lua_setmetatable(state, t);
            } else {
                self.keep(state, t, &Live { touched, ..*entry });
            }
        }
    }

    /// Whether the value at absolute index `t` is a table with the `live` metatable.
    unsafe fn is_live(&self, state: *mut ffi::lua_State, t: c_int) -> bool {
        // SAFETY: per the caller.
        unsafe { self.kind(state, t) == Some(Kind::Live) }
    }

    /// Which lazy metatable the value at absolute index `t` has, if any.
    unsafe fn kind(&self, state: *mut ffi::lua_State, t: c_int) -> Option<Kind> {
        // SAFETY: `t` is a valid index (caller); one slot is pushed and popped.
        unsafe {
            if ffi::lua_type(state, t) != ffi::LUA_TTABLE
                || ffi::lua_checkstack(state, 1) == 0
                || ffi::lua_getmetatable(state, t) == 0
            {
                return None;
            }
            let mt = ffi::lua_topointer(state, -1);
            ffi::lua_settop(state, -2);
            if mt == self.live_mt.get() {
                Some(Kind::Live)
            } else if mt == self.expired_mt.get() {
                Some(Kind::Expired)
            } else {
                None
            }
        }
    }

    /// Whether another copy may be kept, after freeing the slots of tables the collector
    /// freed if it is time for a sweep.
    unsafe fn room_to_keep(&self, state: *mut ffi::lua_State) -> bool {
        let (used, next) = {
            let k = self.kept.borrow();
            (k.used, k.next_sweep)
        };
        if used >= next.max(256) || used >= MAX_KEPT {
            // SAFETY: per `expire`'s contract.
            unsafe { self.sweep(state) };
        }
        self.kept.borrow().used < MAX_KEPT
    }

    /// Frees the copies of tables the collector freed: those no longer in `kept_by`.
    ///
    /// # Safety
    /// `state` is a thread of this state.
    pub(crate) unsafe fn sweep(&self, state: *mut ffi::lua_State) {
        let mut alive = vec![false; self.kept.borrow().slots.len()];
        // SAFETY: three slots reserved; lua_next walks a table nothing changes meanwhile
        // (no Lua code runs); the top is restored.
        unsafe {
            if ffi::lua_checkstack(state, 3) == 0 {
                return;
            }
            let top = ffi::lua_gettop(state);
            ffi::lua_rawgeti(
                state,
                ffi::LUA_REGISTRYINDEX,
                self.refs.get().kept_by.into(),
            );
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, top + 1) != 0 {
                if let Some(slot) =
                    usize::try_from(ffi::lua_tointegerx(state, -1, std::ptr::null_mut()))
                        .ok()
                        .and_then(|i| alive.get_mut(i))
                {
                    *slot = true;
                }
                ffi::lua_settop(state, -2);
            }
            ffi::lua_settop(state, top);
        }
        let mut kept = self.kept.borrow_mut();
        for (i, alive) in alive.into_iter().enumerate() {
            if !alive {
                kept.remove(i);
            }
        }
        kept.next_sweep = (kept.used * 2).max(256);
    }

    /// Gives the table at absolute index `t`, not read in full, a copy of its value.
    unsafe fn keep(&self, state: *mut ffi::lua_State, t: c_int, entry: &Live) {
        let refs = self.refs.get();
        // SAFETY: `entry.source` is still borrowed (see `expire`); the stack is restored.
        unsafe {
            let copy = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (*entry.source).snapshot()
            })) {
                Ok(copy) => copy,
                Err(payload) => {
                    // `Clone` panicked: fill the table now instead (its call is still
                    // running, so the value is there), and resume the panic after the
                    // call's tables are all ended.
                    if self.in_call.get() > 0 {
                        *self.panic.borrow_mut() = Some(payload);
                        self.trouble.set(true);
                    }
                    let mut touched = entry.touched;
                    if self
                        .make_whole(state, t, &*entry.source, entry.name, &mut touched, false)
                        .is_ok()
                    {
                        ffi::lua_pushnil(state);
                        ffi::lua_setmetatable(state, t);
                    } else {
                        // It keeps its `live` metatable without an entry: reading it
                        // raises ("an argument table outlived its call"), never shows a
                        // half-filled table.
                        self.orphaned.set(true);
                    }
                    return;
                }
            };
            let slot = self.kept.borrow_mut().insert(KeptInner {
                source: copy,
                name: entry.name,
                touched: entry.touched,
            });
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.kept_by.into());
            ffi::lua_pushvalue(state, t);
            ffi::lua_pushinteger(state, slot as ffi::lua_Integer);
            ffi::lua_rawset(state, -3);
            ffi::lua_settop(state, -2);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.expired_mt.into());
            ffi::lua_setmetatable(state, t);
        }
    }

    /// The bookkeeping of the lazy table at absolute index `t`, if it is one.
    unsafe fn find(&self, state: *mut ffi::lua_State, t: c_int) -> Option<Entry> {
        // SAFETY: `t` is a valid index (caller); at most 3 slots pushed, all popped.
        unsafe {
            let kind = self.kind(state, t)?;
            if ffi::lua_checkstack(state, 3) == 0 {
                return None;
            }
            if kind == Kind::Live {
                let p = ffi::lua_topointer(state, t);
                self.live
                    .borrow()
                    .iter()
                    .rposition(|l| l.table == p)
                    .map(Entry::Live)
            } else {
                ffi::lua_rawgeti(
                    state,
                    ffi::LUA_REGISTRYINDEX,
                    self.refs.get().kept_by.into(),
                );
                ffi::lua_pushvalue(state, t);
                ffi::lua_rawget(state, -2);
                let mut ok = 0;
                let slot = ffi::lua_tointegerx(state, -1, &mut ok);
                ffi::lua_settop(state, -3);
                let slot = usize::try_from(slot).ok().filter(|_| ok != 0)?;
                self.kept
                    .borrow()
                    .slots
                    .get(slot)?
                    .as_ref()
                    .map(|_| Entry::Kept(slot))
            }
        }
    }

    /// The source, name and touched fields of `entry`.
    fn parts(&self, entry: Entry) -> (*const (dyn LazySource + 'static), &'static str, Touched) {
        match entry {
            Entry::Live(i) => {
                let live = self.live.borrow();
                (live[i].source, live[i].name, live[i].touched)
            }
            Entry::Kept(i) => {
                let kept = self.kept.borrow();
                let Some(k) = kept.slots[i].as_ref() else {
                    unreachable!("`find` checked the slot");
                };
                // The box does not move while the slot is occupied (a slot is freed only
                // by `filled` and `sweep`, never while a fill runs).
                (&*k.source as *const dyn LazySource, k.name, k.touched)
            }
        }
    }

    /// Records what the script has touched of `entry`'s table.
    fn set_touched(&self, entry: Entry, touched: Touched) {
        match entry {
            Entry::Live(i) => self.live.borrow_mut()[i].touched = touched,
            Entry::Kept(i) => {
                if let Some(k) = self.kept.borrow_mut().slots[i].as_mut() {
                    k.touched = touched;
                }
            }
        }
    }

    /// The table at `t` is filled: it becomes plain (no metatable) and a kept copy is
    /// no longer needed.
    unsafe fn filled(&self, state: *mut ffi::lua_State, t: c_int, entry: Entry) {
        // SAFETY: per the callers' contracts; the stack is restored.
        unsafe {
            ffi::lua_pushnil(state);
            ffi::lua_setmetatable(state, t);
            let refs = self.refs.get();
            let forget = |map: c_int| {
                ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, map.into());
                ffi::lua_pushvalue(state, t);
                ffi::lua_pushnil(state);
                ffi::lua_rawset(state, -3);
                ffi::lua_settop(state, -2);
            };
            let (_, _, touched) = self.parts(entry);
            if touched.fields != 0 {
                forget(refs.hidden_by);
            }
            if let Entry::Kept(i) = entry {
                forget(refs.kept_by);
                self.kept.borrow_mut().remove(i);
            }
        }
    }

    /// Fills the table at `idx`, if it is lazy (nothing otherwise): it is a plain table
    /// afterwards. An error message naming
    /// the argument when a field could not be encoded.
    ///
    /// # Safety
    /// `state` is a thread of this state and `idx` a valid index.
    pub(crate) unsafe fn fill(&self, state: *mut ffi::lua_State, idx: c_int) -> Result<(), String> {
        // SAFETY: per the contract.
        unsafe {
            let t = ffi::lua_absindex(state, idx);
            let Some(entry) = self.find(state, t) else {
                // A lazy metatable without bookkeeping: a table whose value could
                // neither be copied nor set when its call ended. It raises, rather
                // than show missing fields.
                if self.kind(state, t).is_some() {
                    return Err("an argument table outlived its call".into());
                }
                return Ok(());
            };
            let (source, name, mut touched) = self.parts(entry);
            let made = self.make_whole(state, t, &*source, name, &mut touched, true);
            self.set_touched(entry, touched);
            made?;
            self.filled(state, t, entry);
            Ok(())
        }
    }

    /// `__index(t, k)` of a lazy table at absolute index `t`, field by field: pushes the
    /// value of field `k` (encoding it into the hidden table on its first read) or nil
    /// for a key that names no field, and returns `Ok(true)`; `Ok(false)` (nothing
    /// pushed) when the table is to be filled whole instead.
    ///
    /// # Safety
    /// `state` is a thread of this state, running a metamethod with `t` and `k` valid
    /// indices and 4 free slots.
    unsafe fn read_field(
        &self,
        state: *mut ffi::lua_State,
        t: c_int,
        k: c_int,
    ) -> Result<bool, String> {
        // SAFETY: per the contract; what is pushed besides the result is popped.
        unsafe {
            let FieldAccess {
                entry,
                source,
                name,
                mut touched,
                i,
            } = match self.field_access(state, t, k)? {
                Access::Field(a) => a,
                Access::Whole => return Ok(false),
                Access::NotAField => {
                    // The full table has no such key.
                    ffi::lua_pushnil(state);
                    return Ok(true);
                }
            };
            let names = (*source).field_names();
            self.push_hidden(state, t);
            let hidden = ffi::lua_gettop(state);
            if touched.fields & (1 << i) == 0 {
                let nested = match entry {
                    Entry::Live(_) => (*source).field_source(i),
                    // A kept table's field is encoded in full: its copy may go before
                    // a lazy table made from it would.
                    Entry::Kept(_) => None,
                };
                let encoded = match nested {
                    // A field of a running call's table that can be lazy itself
                    // (`peer.stats`) is passed as a lazy table of that call.
                    Some(nested) => self.push_nested(state, hidden, k, nested, name),
                    None => self.encode_field(state, hidden, k, &*source, name, i, true),
                };
                let had = match encoded {
                    Ok(had) => had,
                    Err(e) => {
                        ffi::lua_settop(state, hidden - 1);
                        return Err(e);
                    }
                };
                self.touch(entry, &mut touched, i, had);
                if touched.fields == all_fields(names.len()) {
                    // Every field is in the hidden table: make the table whole now, so
                    // that it reads raw from here on and needs no kept copy (nothing is
                    // encoded any more: this cannot fail).
                    ffi::lua_settop(state, hidden - 1);
                    self.make_whole(state, t, &*source, name, &mut touched, true)?;
                    self.filled(state, t, entry);
                    ffi::lua_pushvalue(state, k);
                    ffi::lua_rawget(state, t);
                    return Ok(true);
                }
            }
            ffi::lua_pushvalue(state, k);
            ffi::lua_rawget(state, hidden);
            ffi::lua_rotate(state, hidden, 1);
            ffi::lua_settop(state, hidden);
            Ok(true)
        }
    }

    /// `__newindex(t, k, v)` of a lazy table at absolute index `t`, field by field:
    /// stores `v` as the value of field `k` in the hidden table and returns `Ok(true)`;
    /// `Ok(false)` (nothing done) for a key that names no field, or when the table is to
    /// be filled whole first.
    ///
    /// # Safety
    /// As [`read_field`](Self::read_field), with `v` a valid index.
    unsafe fn write_field(
        &self,
        state: *mut ffi::lua_State,
        t: c_int,
        k: c_int,
        v: c_int,
    ) -> Result<bool, String> {
        // SAFETY: per the contract; the stack is restored.
        unsafe {
            let FieldAccess {
                entry,
                source,
                name,
                mut touched,
                i,
            } = match self.field_access(state, t, k)? {
                Access::Field(a) => a,
                // A new key: the table is made whole first, so that the key lands where
                // it would in a full table.
                Access::Whole | Access::NotAField => return Ok(false),
            };
            self.push_hidden(state, t);
            let hidden = ffi::lua_gettop(state);
            let bit = 1u64 << i;
            // Whether the full table has the field decides where it goes.
            let had = if touched.fields & bit != 0 {
                touched.had & bit != 0
            } else if (*source).field_source(i).is_some() {
                // A struct: a table, never nil.
                true
            } else {
                // Only its nil-ness is needed: a value that cannot be encoded is there
                // (and, never read, fails nothing; as for a table made whole past the
                // kept-copy bound, an encoder that panics here does not fail the call).
                self.encode_field(state, hidden, k, &*source, name, i, false)
                    .unwrap_or(true)
            };
            if !had && ffi::lua_type(state, v) != ffi::LUA_TNIL {
                // A full table gets this key now, after all its fields: make the table
                // whole first, so that it lands there.
                ffi::lua_settop(state, hidden - 1);
                return Ok(false);
            }
            self.touch(entry, &mut touched, i, had);
            ffi::lua_pushvalue(state, k);
            ffi::lua_pushvalue(state, v);
            ffi::lua_rawset(state, hidden);
            ffi::lua_settop(state, hidden - 1);
            Ok(true)
        }
    }

    /// What a field access of the lazy table at absolute index `t` with the key at `k`
    /// is: one to serve field by field ([`FieldAccess`]), a key that names no field,
    /// or one for which the table is (to be) made whole; an error while a fill runs.
    ///
    /// # Safety
    /// As [`read_field`](Self::read_field).
    unsafe fn field_access(
        &self,
        state: *mut ffi::lua_State,
        t: c_int,
        k: c_int,
    ) -> Result<Access, String> {
        // SAFETY: per the contract.
        unsafe {
            let Some(entry) = self.find(state, t) else {
                return Ok(Access::Whole);
            };
            let (source, name, mut touched) = self.parts(entry);
            let names = (*source).field_names();
            if !per_field(names.len()) {
                return Ok(Access::Whole);
            }
            let Some(i) = field_index(state, k, names) else {
                return Ok(Access::NotAField);
            };
            if self.filling.get() {
                // An encoder reading a lazy table (through Lua code of its own) while a
                // field or a table is being filled: refused, as a fill is.
                return Err(busy(name));
            }
            if self.past_access_bound(state, t, entry, &*source, name, &mut touched) {
                return Ok(Access::Whole);
            }
            Ok(Access::Field(FieldAccess {
                entry,
                source,
                name,
                touched,
                i,
            }))
        }
    }

    /// Records that field `i` of `entry`'s table is in its hidden table, and whether
    /// the full table has it (`had`).
    fn touch(&self, entry: Entry, touched: &mut Touched, i: usize, had: bool) {
        touched.fields |= 1 << i;
        if had {
            touched.had |= 1 << i;
        }
        self.set_touched(entry, *touched);
    }

    /// Counts one field access of the lazy table at absolute index `t`; past
    /// [`PER_FIELD_ACCESSES`] makes it whole (best effort: a field that cannot be
    /// encoded is not the call's failure, since the script did not read it; the table
    /// then stays field by field for good) and returns `true` when it did.
    ///
    /// # Safety
    /// As [`read_field`](Self::read_field).
    unsafe fn past_access_bound(
        &self,
        state: *mut ffi::lua_State,
        t: c_int,
        entry: Entry,
        source: &dyn LazySource,
        name: &'static str,
        touched: &mut Touched,
    ) -> bool {
        if touched.accesses == u32::MAX {
            return false;
        }
        touched.accesses += 1;
        if touched.accesses <= PER_FIELD_ACCESSES {
            self.set_touched(entry, *touched);
            return false;
        }
        // SAFETY: per the contract.
        let made = unsafe { self.make_whole(state, t, source, name, touched, false) };
        if made.is_ok() {
            // SAFETY: per the contract; the table is whole.
            unsafe { self.filled(state, t, entry) };
            return true;
        }
        touched.accesses = u32::MAX;
        self.set_touched(entry, *touched);
        false
    }

    /// Makes the lazy table at absolute index `t` whole (it keeps its metatable, and
    /// stays as it was, if this fails; the caller removes the metatable). See
    /// [`fill_from`](Self::fill_from).
    ///
    /// # Safety
    /// `state` is a thread of this state; `t` an absolute index of the lazy table.
    unsafe fn make_whole(
        &self,
        state: *mut ffi::lua_State,
        t: c_int,
        source: &dyn LazySource,
        name: &'static str,
        touched: &mut Touched,
        record: bool,
    ) -> Result<(), String> {
        // SAFETY: per the contract.
        unsafe { self.fill_from(state, t, source, name, *touched, record) }
    }

    /// Pushes the hidden table of the lazy table at absolute index `t`, made if it has
    /// none yet.
    ///
    /// # Safety
    /// `state` is a thread of this state with 3 free slots; `t` a valid index.
    unsafe fn push_hidden(&self, state: *mut ffi::lua_State, t: c_int) {
        // SAFETY: per the contract; exactly one value stays pushed.
        unsafe {
            ffi::lua_rawgeti(
                state,
                ffi::LUA_REGISTRYINDEX,
                self.refs.get().hidden_by.into(),
            );
            ffi::lua_pushvalue(state, t);
            if ffi::lua_rawget(state, -2) != ffi::LUA_TTABLE {
                ffi::lua_settop(state, -2);
                ffi::lua_createtable(state, 0, 4);
                ffi::lua_pushvalue(state, t);
                ffi::lua_pushvalue(state, -2);
                ffi::lua_rawset(state, -4);
            }
            ffi::lua_rotate(state, -2, 1);
            ffi::lua_settop(state, -2);
        }
    }

    /// Stores a lazy table of the running call for `nested`, a field of one of its lazy
    /// tables, into the hidden table at absolute index `hidden` under the key at `k`.
    /// Returns `Ok(true)`: the field is not nil.
    ///
    /// # Safety
    /// As [`read_field`](Self::read_field); `nested` lives as long as the call's
    /// arguments (it is a field of one).
    unsafe fn push_nested(
        &self,
        state: *mut ffi::lua_State,
        hidden: c_int,
        k: c_int,
        nested: &dyn LazySource,
        name: &'static str,
    ) -> Result<bool, String> {
        // SAFETY: per the contract; the stack is restored.
        unsafe {
            if ffi::lua_checkstack(state, 5) == 0 {
                return Err(format!("argument `{name}`: Lua stack exhausted"));
            }
            ffi::lua_pushvalue(state, k);
            self.push_live(state, name, nested);
            ffi::lua_rawset(state, hidden);
            Ok(true)
        }
    }

    /// Encodes field `i` of `source` into the hidden table at absolute index `hidden`
    /// of `state`, under the key at absolute index `k` (the field's name), with the
    /// protections of a whole fill (`record`: a failure inside a call is the call's);
    /// returns whether its value is not nil.
    #[allow(clippy::too_many_arguments)]
    unsafe fn encode_field(
        &self,
        state: *mut ffi::lua_State,
        hidden: c_int,
        k: c_int,
        source: &dyn LazySource,
        name: &'static str,
        i: usize,
        record: bool,
    ) -> Result<bool, String> {
        let mut had = false;
        // SAFETY: `hidden` and `k` are valid indices of `state` (caller); copies of the
        // key and the hidden table are pushed on `state`, copied to `main` for the
        // encoder, and popped from both.
        unsafe {
            if ffi::lua_checkstack(state, 2) == 0 {
                return Err(format!("argument `{name}`: Lua stack exhausted"));
            }
            ffi::lua_pushvalue(state, k);
            ffi::lua_pushvalue(state, hidden);
            let r = self.run_fill(state, 2, name, record, |main, cx| {
                // The key, then the hidden table (plain, so setting a field of it runs
                // nothing) on top of `main`, copied there by `run_fill`.
                let at = ffi::lua_gettop(main);
                let table = TableCx::existing(cx, at);
                ffi::lua_pushvalue(main, at - 1);
                source.push_field(i, cx)?;
                had =
                    ffi::lua_gettop(main) == at + 2 && ffi::lua_type(main, at + 2) != ffi::LUA_TNIL;
                table.set_pair()
            });
            ffi::lua_settop(state, -3);
            r.map(|()| had)
        }
    }

    /// Runs `work` on the state mlua considers current (`main`, where `RawCx` may push
    /// through mlua) with the `moved` values on top of `state` copied there, with the
    /// memory cap off and fills of other tables refused meanwhile; `work` gets `main`
    /// and a context made after those values (which it cannot pop). A panic of an
    /// encoder is caught (and resumed once the call is over, when `record` and inside
    /// one); an error comes back naming the argument, and is the call's failure when
    /// `record` and inside one. `state` is left as it was; `main`'s top is restored.
    unsafe fn run_fill(
        &self,
        state: *mut ffi::lua_State,
        moved: c_int,
        name: &'static str,
        record: bool,
        work: impl FnOnce(*mut ffi::lua_State, &RawCx<'_>) -> mlua::Result<()>,
    ) -> Result<(), String> {
        let counts = record && self.in_call.get() > 0;
        let Some(lua) = self.lua.try_upgrade() else {
            return Err(format!("argument `{name}`: its Lua state is closing"));
        };
        if self.filling.replace(true) {
            // An encoder reading a lazy table while another is filled (through the
            // host): refused, so that no copy is freed under a running fill.
            return Err(busy(name));
        }
        let armed = crate::limits::memory_armed();
        let cap = if armed {
            lua.set_memory_limit(0).unwrap_or(0)
        } else {
            0
        };
        // SAFETY: the `moved` values on top of `state` (the caller's contract) are
        // copied onto `main` and `main`'s top restored; the encoders are the host's
        // code, so a panic must not unwind through the Lua frames above us: it is kept
        // and resumed when the call is over.
        let result = lua.exec_raw_lua(|raw| unsafe {
            let main = raw.state();
            if ffi::lua_checkstack(main, moved + 4) == 0 || ffi::lua_checkstack(state, moved) == 0 {
                return Err(mlua::Error::StackError);
            }
            let top = ffi::lua_gettop(main);
            for _ in 0..moved {
                ffi::lua_pushvalue(state, -moved);
            }
            if state != main {
                ffi::lua_xmove(state, main, moved);
            }
            // Made after the values are pushed, so that no encoder can pop them.
            let cx = RawCx::new(&lua, main);
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(main, &cx)));
            ffi::lua_settop(main, top);
            match done {
                Ok(r) => r,
                Err(payload) => {
                    if counts {
                        *self.panic.borrow_mut() = Some(payload);
                        self.trouble.set(true);
                    }
                    // Outside a call the panic stays an error of this fill.
                    Err(mlua::Error::RuntimeError("the encoder panicked".into()))
                }
            }
        });
        if armed {
            let _ = lua.set_memory_limit(cap);
        }
        self.filling.set(false);
        result.map_err(|e| {
            let e = match e {
                mlua::Error::RuntimeError(m) => m,
                other => other.to_string(),
            };
            let msg = format!("argument `{name}`: {e}");
            // Only a failure inside a call fails a call: a host decoding a kept table
            // after its call gets the error from `force` itself.
            if counts {
                let mut failed = self.failed.borrow_mut();
                if failed.is_none() {
                    *failed = Some(msg.clone());
                }
                self.trouble.set(true);
            }
            msg
        })
    }

    /// Sets the fields of `source`, in order, on the table at absolute index `idx`,
    /// without metamethods and with the memory cap off (as for every argument); a
    /// field in `touched` takes its value from the table's hidden table instead. The
    /// table keeps its metatable if this fails.
    unsafe fn fill_from(
        &self,
        state: *mut ffi::lua_State,
        idx: c_int,
        source: &dyn LazySource,
        name: &'static str,
        touched: Touched,
        record: bool,
    ) -> Result<(), String> {
        // SAFETY: `idx` is an absolute index of a table (caller). The metatable goes
        // first, so that setting fields (even with `lua_setfield`) runs nothing.
        unsafe {
            if ffi::lua_checkstack(state, 4) == 0 {
                return Err(format!("argument `{name}`: Lua stack exhausted"));
            }
            // Kept on the stack, to put back if the fill fails (the table stays lazy).
            let base = ffi::lua_gettop(state);
            let had_mt = ffi::lua_getmetatable(state, idx) != 0;
            let mt_at = ffi::lua_gettop(state);
            let moved = if touched.fields == 0 {
                1
            } else {
                // Below the table, so that `work` finds it at `table - 1`.
                self.push_hidden(state, idx);
                2
            };
            ffi::lua_pushvalue(state, idx);
            ffi::lua_pushnil(state);
            ffi::lua_setmetatable(state, idx);
            let result = self.run_fill(state, moved, name, record, |main, cx| {
                let table_at = ffi::lua_gettop(main);
                let table = TableCx::existing(cx, table_at);
                let names = source.field_names();
                if !per_field(names.len()) {
                    // A small table: set in one go, as it always was (on failure, the
                    // fields set before stay, with their call's values).
                    return source.fill(&table);
                }
                // In two steps, so that a failure leaves the table empty: every field
                // the script has not touched is encoded into a sequence first, then
                // all are set from there and from the hidden table (below the table
                // when anything was touched), which encodes nothing and cannot fail.
                let hidden_at = table_at - 1;
                cx.push_table(names.len(), 0, |seq| {
                    for i in 0..names.len() {
                        if touched.fields & (1u64 << i) == 0 {
                            seq.item(i as i64 + 1, &SourceField { source, i })?;
                        }
                    }
                    Ok(())
                })?;
                let seq_at = ffi::lua_gettop(main);
                let mut cleared = 0u64;
                for (i, key) in names.iter().enumerate() {
                    let bit = 1u64 << i;
                    ffi::lua_pushlstring(main, key.as_ptr().cast(), key.len());
                    if touched.fields & bit != 0 {
                        ffi::lua_pushvalue(main, -1);
                        ffi::lua_rawget(main, hidden_at);
                    } else {
                        ffi::lua_rawgeti(main, seq_at, i as ffi::lua_Integer + 1);
                    }
                    if ffi::lua_type(main, -1) == ffi::LUA_TNIL {
                        if touched.had & bit == 0 {
                            ffi::lua_settop(main, seq_at);
                            continue;
                        }
                        // The full table had this field and the script made it nil: a
                        // placeholder takes its slot and is cleared below, as assigning
                        // nil to a full table leaves the slot.
                        ffi::lua_settop(main, -2);
                        ffi::lua_pushboolean(main, 1);
                        cleared |= bit;
                    }
                    ffi::lua_rawset(main, table_at);
                }
                for (i, key) in names.iter().enumerate() {
                    if cleared & (1u64 << i) != 0 {
                        ffi::lua_pushlstring(main, key.as_ptr().cast(), key.len());
                        ffi::lua_pushnil(main);
                        ffi::lua_rawset(main, table_at);
                    }
                }
                ffi::lua_settop(main, seq_at - 1);
                Ok(())
            });
            if had_mt && result.is_err() {
                ffi::lua_pushvalue(state, mt_at);
                ffi::lua_setmetatable(state, idx);
            }
            ffi::lua_settop(state, base);
            result
        }
    }
}

/// Field `i` of a lazy table's source, as a value to set (what a whole fill sets for a
/// field the script has not touched).
struct SourceField<'a> {
    source: &'a dyn LazySource,
    i: usize,
}

impl LuaEncode for SourceField<'_> {
    fn encode(&self, _: &Lua) -> mlua::Result<mlua::Value> {
        Err(mlua::Error::RuntimeError("only pushed raw".into()))
    }
    fn push_raw(&self, cx: &RawCx<'_>) -> mlua::Result<()> {
        self.source.push_field(self.i, cx)
    }
}

/// The error of a lazy table read while another is being filled.
fn busy(name: &str) -> String {
    format!("argument `{name}`: read while another argument table was being filled")
}

/// The position in `names` of the key at `k`, when it is a string naming a field.
///
/// # Safety
/// `k` is a valid index of `state`.
unsafe fn field_index(state: *mut ffi::lua_State, k: c_int, names: &[&str]) -> Option<usize> {
    // SAFETY: a valid index holding a string (checked), not converted.
    unsafe {
        if ffi::lua_type(state, k) != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0usize;
        let p = ffi::lua_tolstring(state, k, &mut len);
        let key = std::slice::from_raw_parts(p.cast::<u8>(), len);
        names.iter().position(|n| n.as_bytes() == key)
    }
}

impl LazyArgs {
    /// Pushes a lazy table for argument `name`, filled from `source` as the script reads
    /// it.
    ///
    /// # Safety
    /// `source` stays valid until [`expire`](Self::expire) ends this table (the call's
    /// end), and `cx` pushes onto the stack of this state.
    pub(crate) unsafe fn push_lazy(
        &self,
        cx: &RawCx<'_>,
        name: &'static str,
        source: &dyn LazySource,
    ) -> mlua::Result<()> {
        let state = cx.state();
        // SAFETY: `state` is the stack `cx` pushes to; 3 slots are reserved. The source
        // outlives the table's entry (the contract).
        unsafe {
            if ffi::lua_checkstack(state, 3) == 0 {
                return Err(mlua::Error::StackError);
            }
            self.push_live(state, name, source);
        }
        Ok(())
    }

    /// Pushes a lazy table of the running call for `source` (the body of
    /// [`push_lazy`](Self::push_lazy)).
    ///
    /// # Safety
    /// `state` is a thread of this state with 3 free slots; `source` stays valid until
    /// the entry pushed here is ended.
    unsafe fn push_live(
        &self,
        state: *mut ffi::lua_State,
        name: &'static str,
        source: &dyn LazySource,
    ) {
        let refs = self.refs.get();
        // SAFETY: per the contract; exactly one value (the table) stays pushed. The
        // source's lifetime is erased: `expire` removes the entry before the call
        // returns (see `raw_call::call`).
        unsafe {
            // Sized as a full table of the same type is, so that once filled (in field
            // order) its keys sit where they would, and `pairs` visits them in the
            // same order.
            let room = c_int::try_from(source.field_count().min(1 << 16)).unwrap_or(0);
            ffi::lua_createtable(state, 0, room);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.live_mt.into());
            ffi::lua_setmetatable(state, -2);
            let pos = self.live.borrow().len() + 1;
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.pinned.into());
            ffi::lua_pushvalue(state, -2);
            ffi::lua_rawseti(state, -2, pos as ffi::lua_Integer);
            ffi::lua_settop(state, -2);
            let source: *const (dyn LazySource + '_) = source;
            let source: *const (dyn LazySource + 'static) = std::mem::transmute(source);
            self.live.borrow_mut().push(Live {
                table: ffi::lua_topointer(state, -1),
                source,
                name,
                touched: Touched::default(),
            });
        }
    }
}

/// The `LazyArgs` of a metamethod or wrapper (its first upvalue).
unsafe fn this<'a>(state: *mut ffi::lua_State) -> &'a LazyArgs {
    // SAFETY: every closure made in `LazyArgs::new` has the boxed `LazyArgs` as its
    // first upvalue, and the box lives as long as the state.
    unsafe { &*ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)).cast::<LazyArgs>() }
}

/// Raises `r`'s error, if any.
unsafe fn raise_on_error(state: *mut ffi::lua_State, r: Result<(), String>) {
    // SAFETY: called from a C function of ours on `state`. No Rust value with a
    // destructor is alive when `lua_error` unwinds past this frame: the message is
    // pushed (with the memory cap lifted, so that pushing it cannot raise) and dropped
    // first.
    unsafe {
        if let Err(msg) = r {
            let lua = this(state).lua.try_upgrade();
            let lifted = match &lua {
                Some(lua) if crate::limits::memory_armed() => {
                    Some(lua.set_memory_limit(0).unwrap_or(0))
                }
                _ => None,
            };
            ffi::lua_pushlstring(state, msg.as_ptr().cast(), msg.len());
            if let (Some(lua), Some(cap)) = (&lua, lifted) {
                let _ = lua.set_memory_limit(cap);
            }
            drop(lua);
            drop(msg);
            ffi::lua_error(state);
        }
    }
}

/// Fills the table at `idx` if it is lazy, or raises the fill's error.
unsafe fn fill_or_raise(state: *mut ffi::lua_State, idx: c_int) {
    // SAFETY: as `raise_on_error`.
    unsafe { raise_on_error(state, this(state).fill(state, idx)) }
}

unsafe extern "C-unwind" fn lazy_index(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__index(t, k)` with the lazy table at 1 (absent key `k`). A
    // field is read on its own (into the table's hidden table); a table of a type with
    // too many fields for that is filled whole, in field order, so that it ends up laid
    // out as a full table of the same type.
    unsafe {
        ffi::lua_settop(state, 2);
        if ffi::lua_checkstack(state, 4) == 0 {
            return ffi::luaL_error(state, c"stack overflow".as_ptr());
        }
        match this(state).read_field(state, 1, 2) {
            Ok(true) => 1,
            Ok(false) => {
                fill_or_raise(state, 1);
                ffi::lua_rawget(state, 1);
                1
            }
            Err(e) => {
                raise_on_error(state, Err(e));
                0
            }
        }
    }
}

unsafe extern "C-unwind" fn lazy_newindex(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__newindex(t, k, v)` with the lazy table at 1 (absent key
    // `k`). A nil or NaN key raises as an assignment to a plain table does, with the
    // script's position (`luaL_error` names the calling Lua function).
    unsafe {
        ffi::lua_settop(state, 3);
        if ffi::lua_checkstack(state, 4) == 0 {
            return ffi::luaL_error(state, c"stack overflow".as_ptr());
        }
        // A field is assigned on its own (in the table's hidden table); a new key makes
        // the table whole first, so that it lands where it would in a full table.
        match this(state).write_field(state, 1, 2, 3) {
            Ok(true) => return 0,
            Ok(false) => fill_or_raise(state, 1),
            Err(e) => raise_on_error(state, Err(e)),
        }
        match ffi::lua_type(state, 2) {
            ffi::LUA_TNIL => {
                return ffi::luaL_error(state, c"table index is nil".as_ptr());
            }
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, 2) == 0 => {
                let n = ffi::lua_tonumberx(state, 2, std::ptr::null_mut());
                if n.is_nan() {
                    return ffi::luaL_error(state, c"table index is NaN".as_ptr());
                }
            }
            _ => {}
        }
        ffi::lua_rawset(state, 1);
        0
    }
}

unsafe extern "C-unwind" fn lazy_len(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__len(t)` with the lazy table at 1.
    unsafe {
        fill_or_raise(state, 1);
        let n = ffi::lua_rawlen(state, 1);
        ffi::lua_pushinteger(
            state,
            ffi::lua_Integer::try_from(n).unwrap_or(ffi::lua_Integer::MAX),
        );
        1
    }
}

unsafe extern "C-unwind" fn lazy_pairs(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__pairs(t)` with the lazy table at 1; upvalue 2 is Lua's own
    // `next`, which `pairs` returns for a plain table.
    unsafe {
        fill_or_raise(state, 1);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(2));
        ffi::lua_pushvalue(state, 1);
        ffi::lua_pushnil(state);
        3
    }
}

/// `force(v)`: fills `v` if it is a lazy table (the prelude's `setmetatable` and
/// [`crate::codec::lazy::force`] use it).
unsafe extern "C-unwind" fn sandbox_force(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: a C function of ours; `fill` ignores anything but a lazy table.
    unsafe {
        fill_or_raise(state, 1);
        0
    }
}

/// `pairs(v)`, as Lua's, except that for a value without `__pairs` it returns the
/// sandbox's `next` (upvalue 2), which fills a lazy table it is given: Lua's own `next`
/// would read one raw.
unsafe extern "C-unwind" fn sandbox_pairs(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as Lua's `luaB_pairs`; `__pairs` is called with a continuation so that it
    // may yield, as in Lua.
    unsafe {
        ffi::luaL_checkany(state, 1);
        if ffi::luaL_getmetafield(state, 1, c"__pairs".as_ptr()) == ffi::LUA_TNIL {
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(2));
            ffi::lua_pushvalue(state, 1);
            ffi::lua_pushnil(state);
        } else {
            ffi::lua_pushvalue(state, 1);
            ffi::lua_callk(state, 1, 3, 0, Some(pairs_continue));
        }
        3
    }
}

unsafe extern "C-unwind" fn pairs_continue(
    _state: *mut ffi::lua_State,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    3
}

/// `next(t, k)`, as Lua's, after filling a lazy `t`.
unsafe extern "C-unwind" fn sandbox_next(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as Lua's `luaB_next`, whose argument checks raise through `luaL_*`.
    unsafe {
        fill_or_raise(state, 1);
        ffi::luaL_checktype(state, 1, ffi::LUA_TTABLE);
        ffi::lua_settop(state, 2);
        if ffi::lua_next(state, 1) != 0 {
            2
        } else {
            ffi::lua_pushnil(state);
            1
        }
    }
}

/// `rawget(t, k)`, as Lua's, after filling a lazy `t`.
unsafe extern "C-unwind" fn sandbox_rawget(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as Lua's `luaB_rawget`.
    unsafe {
        fill_or_raise(state, 1);
        ffi::luaL_checktype(state, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(state, 2);
        ffi::lua_settop(state, 2);
        ffi::lua_rawget(state, 1);
        1
    }
}

/// `rawset(t, k, v)`, as Lua's, after filling a lazy `t`.
unsafe extern "C-unwind" fn sandbox_rawset(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as Lua's `luaB_rawset`.
    unsafe {
        fill_or_raise(state, 1);
        ffi::luaL_checktype(state, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(state, 2);
        ffi::luaL_checkany(state, 3);
        ffi::lua_settop(state, 3);
        ffi::lua_rawset(state, 1);
        1
    }
}

/// `rawlen(v)`, as Lua's, after filling a lazy `v`.
unsafe extern "C-unwind" fn sandbox_rawlen(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as Lua's `luaB_rawlen`.
    unsafe {
        fill_or_raise(state, 1);
        let t = ffi::lua_type(state, 1);
        if t != ffi::LUA_TTABLE && t != ffi::LUA_TSTRING {
            // As `luaL_argexpected`: "bad argument #1 to 'rawlen' (table or string
            // expected, got X)".
            let msg = ffi::lua_pushfstring(
                state,
                c"table or string expected, got %s".as_ptr(),
                ffi::luaL_typename(state, 1),
            );
            return ffi::luaL_argerror(state, 1, msg);
        }
        let n = ffi::lua_rawlen(state, 1);
        ffi::lua_pushinteger(
            state,
            ffi::lua_Integer::try_from(n).unwrap_or(ffi::lua_Integer::MAX),
        );
        1
    }
}

/// `getmetatable(v)`, as Lua's, after filling a lazy `v` (which then has none).
unsafe extern "C-unwind" fn sandbox_getmetatable(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as Lua's `luaB_getmetatable`.
    unsafe {
        fill_or_raise(state, 1);
        ffi::luaL_checkany(state, 1);
        if ffi::lua_getmetatable(state, 1) == 0 {
            ffi::lua_pushnil(state);
            return 1;
        }
        ffi::luaL_getmetafield(state, 1, c"__metatable".as_ptr());
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{LuaCodec, LuaEncode};
    use crate::sandbox::{Sandbox, SandboxedLua};

    #[derive(Clone, LuaCodec)]
    #[lua(crate = "crate::codec")]
    struct Probe {
        n: u32,
    }

    /// Nine fields: enough to be read field by field.
    #[derive(Clone, LuaCodec)]
    #[lua(crate = "crate::codec")]
    struct Pair {
        a: u32,
        b: u32,
        c: u32,
        d: u32,
        e: u32,
        f: u32,
        g: u32,
        h: u32,
        i: u32,
    }

    /// Runs `code` in one call that passes `pair` as the lazy global `t`; returns what
    /// `code` returned and whether `t` was still lazy (had a metatable) after it ran.
    fn read_in_call(sb: &SandboxedLua, pair: &Pair, code: &std::ffi::CStr) -> (i64, bool) {
        let lua = &sb.lua;
        lua.exec_raw_lua(|raw| {
            let state = raw.state();
            // SAFETY: `state` is `lua`'s current stack; what is pushed is popped; `pair`
            // outlives `expire`, which ends the table before returning.
            unsafe {
                let cx = RawCx::new(lua, state);
                let mark = sb.lazy().mark();
                sb.lazy().enter();
                let source = pair.lazy_source().expect("a derived Clone struct");
                sb.lazy().push_lazy(&cx, "pair", source).unwrap();
                ffi::lua_setglobal(state, c"t".as_ptr());
                assert_eq!(ffi::luaL_loadstring(state, code.as_ptr()), ffi::LUA_OK);
                assert_eq!(ffi::lua_pcall(state, 0, 1, 0), ffi::LUA_OK);
                let n = ffi::lua_tointegerx(state, -1, std::ptr::null_mut());
                ffi::lua_settop(state, -2);
                ffi::lua_getglobal(state, c"t".as_ptr());
                let lazy = ffi::lua_getmetatable(state, -1) != 0;
                ffi::lua_settop(state, 0);
                sb.lazy().expire(state, mark);
                sb.lazy().leave();
                (n, lazy)
            }
        })
    }

    #[test]
    fn a_table_read_field_by_field_many_times_is_made_whole() {
        let sb = SandboxedLua::new(&Sandbox::default()).unwrap();
        let pair = Pair {
            a: 2,
            b: 3,
            c: 4,
            d: 5,
            e: 6,
            f: 7,
            g: 8,
            h: 9,
            i: 10,
        };
        // Fewer reads than the bound: still lazy (only `a` read, into the hidden table).
        let few = format!(
            "local s = 0 for _ = 1, {} do s = s + t.a end return s",
            PER_FIELD_ACCESSES
        );
        let few = std::ffi::CString::new(few).unwrap();
        let (n, lazy) = read_in_call(&sb, &pair, &few);
        assert_eq!((n, lazy), (2 * i64::from(PER_FIELD_ACCESSES), true));
        // One more: made whole, then read raw.
        let many = format!(
            "local s = 0 for _ = 1, {} do s = s + t.a end return s",
            PER_FIELD_ACCESSES + 5
        );
        let many = std::ffi::CString::new(many).unwrap();
        let (n, lazy) = read_in_call(&sb, &pair, &many);
        assert_eq!((n, lazy), (2 * i64::from(PER_FIELD_ACCESSES + 5), false));
    }

    /// Pushes `count` lazy tables as one call would and stores them in global `kept`,
    /// then ends the call.
    fn call_keeping(sb: &SandboxedLua, values: &[Probe]) {
        let lua = &sb.lua;
        lua.exec_raw_lua(|raw| {
            let state = raw.state();
            // SAFETY: `state` is `lua`'s current stack; what is pushed is popped; the
            // values outlive `expire`, which ends the tables before returning.
            unsafe {
                let cx = RawCx::new(lua, state);
                let mark = sb.lazy().mark();
                ffi::lua_getglobal(state, c"kept".as_ptr());
                for v in values {
                    let source = v.lazy_source().expect("a derived Clone struct");
                    sb.lazy().push_lazy(&cx, "probe", source).unwrap();
                    let n = ffi::lua_rawlen(state, -2) as ffi::lua_Integer;
                    ffi::lua_rawseti(state, -2, n + 1);
                }
                ffi::lua_settop(state, -2);
                sb.lazy().expire(state, mark);
            }
        });
    }

    /// Collects garbage twice (so the weak table drops dead tables), then sweeps.
    fn collect_and_sweep(sb: &SandboxedLua) {
        sb.lua.gc_collect().unwrap();
        sb.lua.gc_collect().unwrap();
        // SAFETY: the current stack of the state.
        sb.lua
            .exec_raw_lua(|raw| unsafe { sb.lazy().sweep(raw.state()) });
    }

    #[test]
    fn kept_copies_are_bounded_and_freed_with_their_tables() {
        let sb = SandboxedLua::new(&Sandbox::default()).unwrap();
        sb.lua
            .globals()
            .set("kept", sb.lua.create_table().unwrap())
            .unwrap();
        let values: Vec<Probe> = (1..=MAX_KEPT as u32 + 100).map(|n| Probe { n }).collect();
        call_keeping(&sb, &values);
        // One copy per untouched table up to the bound; the rest were filled.
        assert_eq!(sb.lazy().kept(), MAX_KEPT);
        let sum: u64 = sb
            .lua
            .load("local s = 0 for _, t in ipairs(kept) do s = s + t.n end return s")
            .eval()
            .unwrap();
        let n = MAX_KEPT as u64 + 100;
        assert_eq!(sum, n * (n + 1) / 2);
        // Reading a table in full releases its copy at once.
        assert_eq!(sb.lazy().kept(), 0);

        // Untouched tables dropped by the script: their copies go at the next sweep
        // after the collector freed them, not before.
        call_keeping(&sb, &values[..10]);
        assert_eq!(sb.lazy().kept(), 10);
        collect_and_sweep(&sb);
        assert_eq!(sb.lazy().kept(), 10, "still referenced by `kept`");
        sb.lua.load("kept = {}").exec().unwrap();
        collect_and_sweep(&sb);
        assert_eq!(sb.lazy().kept(), 0);
    }
}
