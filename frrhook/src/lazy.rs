//! Lazy `&T` arguments: the runtime side of [`crate::codec::lazy`].
//!
//! A hook argument passed as `&T`, where `T` derives `LuaCodec` and is `Clone +
//! 'static`, reaches the script as an empty table, sized as the full table would be,
//! whose metatable (`live`) sets every field, in declaration order, the first time the
//! script touches the table, then removes itself. A route-map that never looks at
//! `peer` never pays for `peer`'s fields.
//!
//! What a script can observe is what it observes of a table built in full:
//! - every way to look at a table fills it first: indexing and assigning (`__index`,
//!   `__newindex`), `pairs` (the sandbox's, which returns the filling `next` even for
//!   plain tables), `#`, `ipairs` and the `table` library (through `__index` and
//!   `__len`), and the sandbox's `next`, `rawget`, `rawset`, `rawlen`, `getmetatable`
//!   and `setmetatable` (see [`SANDBOX_WRAPPERS`]); decoders call
//!   [`crate::codec::lazy::force`]. Then it is a plain table without a metatable, laid
//!   out as the full table is, so `pairs` visits its keys in the same order;
//! - when the call ends, a table the script never touched keeps a copy of the value (a
//!   `Clone` in a slab whose slot a weak-keyed table gives; a sweep frees the slots of
//!   tables the collector freed), so a table kept in a global shows the values of *its*
//!   call, never of a later one. At most [`MAX_KEPT`] copies live in one state (they sit
//!   outside the memory cap); past that, an untouched table is filled when its call
//!   ends, in Lua memory;
//! - a field that cannot be encoded (a `u64` above `i64::MAX`) raises an error naming
//!   the argument when the table is filled, and the call fails with
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

use crate::codec::lazy::{LazySource, fill_key};
use crate::codec::raw::{RawCx, TableCx};

/// Untouched arguments a state keeps copies of, at most (see the module docs).
pub(crate) const MAX_KEPT: usize = 4096;

/// A lazy table of the running call, and what it is filled from.
struct Live {
    table: *const c_void,
    /// Borrowed for the call only: [`LazyArgs::expire`] drops every `Live` of a call
    /// before the call returns.
    source: *const (dyn LazySource + 'static),
    name: &'static str,
}

/// The copy a table not read in full keeps after its call.
struct KeptInner {
    source: Box<dyn LazySource>,
    name: &'static str,
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
                ffi::lua_createtable(state, 0, 0);
                ffi::lua_createtable(state, 0, 1);
                ffi::lua_pushstring(state, c"k".as_ptr());
                ffi::lua_setfield(state, -2, c"__mode".as_ptr());
                ffi::lua_setmetatable(state, -2);
                let kept_by = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                ffi::lua_createtable(state, 8, 0);
                let pinned = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                this.live_mt.set(live_p);
                this.expired_mt.set(expired_p);
                this.refs.set(Refs {
                    live_mt,
                    expired_mt,
                    kept_by,
                    pinned,
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
                    if self.room_to_keep(state) {
                        self.keep(state, t, entry);
                    } else {
                        // Past the bound: fill it now, in Lua memory. A field that cannot
                        // be encoded is not this call's failure (the script did not read
                        // it): keep a copy after all, so that reading it later fails then.
                        if self
                            .fill_from(state, t, &*entry.source, entry.name, false)
                            .is_ok()
                        {
                            ffi::lua_pushnil(state);
                            ffi::lua_setmetatable(state, t);
                        } else {
                            self.keep(state, t, entry);
                        }
                    }
                }
                ffi::lua_settop(state, t - 1);
                ffi::lua_pushnil(state);
                ffi::lua_rawseti(state, pinned, pos);
            }
            ffi::lua_settop(state, top);
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
                    if self
                        .fill_from(state, t, &*entry.source, entry.name, false)
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

    /// The source and name of `entry`.
    fn parts(&self, entry: Entry) -> (*const (dyn LazySource + 'static), &'static str) {
        match entry {
            Entry::Live(i) => {
                let live = self.live.borrow();
                (live[i].source, live[i].name)
            }
            Entry::Kept(i) => {
                let kept = self.kept.borrow();
                let Some(k) = kept.slots[i].as_ref() else {
                    unreachable!("`find` checked the slot");
                };
                // The box does not move while the slot is occupied (a slot is freed only
                // by `filled` and `sweep`, never while a fill runs).
                (&*k.source as *const dyn LazySource, k.name)
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
            if let Entry::Kept(i) = entry {
                ffi::lua_rawgeti(
                    state,
                    ffi::LUA_REGISTRYINDEX,
                    self.refs.get().kept_by.into(),
                );
                ffi::lua_pushvalue(state, t);
                ffi::lua_pushnil(state);
                ffi::lua_rawset(state, -3);
                ffi::lua_settop(state, -2);
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
            let (source, name) = self.parts(entry);
            self.fill_from(state, t, &*source, name, true)?;
            self.filled(state, t, entry);
            Ok(())
        }
    }

    /// Sets the fields of `source`, in order, on the table at absolute index `idx`,
    /// without metamethods and with the memory cap off (as for every argument).
    unsafe fn fill_from(
        &self,
        state: *mut ffi::lua_State,
        idx: c_int,
        source: &dyn LazySource,
        name: &'static str,
        record: bool,
    ) -> Result<(), String> {
        let counts = record && self.in_call.get() > 0;
        let Some(lua) = self.lua.try_upgrade() else {
            return Err(format!("argument `{name}`: its Lua state is closing"));
        };
        if self.filling.replace(true) {
            // An encoder reading a lazy table while another is filled (through the
            // host): refused, so that no copy is freed under a running fill.
            return Err(format!(
                "argument `{name}`: read while another argument table was being filled"
            ));
        }
        // SAFETY: `idx` is an absolute index of a table (caller). The metatable goes
        // first, so that setting fields (even with `lua_setfield`) runs nothing. The
        // fields are set on the state mlua considers current (`main`), where `RawCx`
        // may push values through mlua; the table is moved there and the top restored.
        let result = unsafe {
            if ffi::lua_checkstack(state, 2) == 0 {
                self.filling.set(false);
                return Err(format!("argument `{name}`: Lua stack exhausted"));
            }
            // Kept on the stack, to put back if the fill fails (the table stays lazy).
            let had_mt = ffi::lua_getmetatable(state, idx) != 0;
            let mt_at = ffi::lua_gettop(state);
            ffi::lua_pushnil(state);
            ffi::lua_setmetatable(state, idx);
            let armed = crate::limits::memory_armed();
            let cap = if armed {
                lua.set_memory_limit(0).unwrap_or(0)
            } else {
                0
            };
            let result = lua.exec_raw_lua(|raw| {
                let main = raw.state();
                if ffi::lua_checkstack(main, 4) == 0 || ffi::lua_checkstack(state, 1) == 0 {
                    return Err(mlua::Error::StackError);
                }
                let top = ffi::lua_gettop(main);
                ffi::lua_pushvalue(state, idx);
                if state != main {
                    ffi::lua_xmove(state, main, 1);
                }
                // Made after the table is pushed, so that no encoder can pop it.
                let cx = RawCx::new(&lua, main);
                let table = TableCx::existing(&cx, top + 1);
                // The encoders are the host's code: a panic must not unwind through the
                // Lua frames above us. It is kept and resumed when the call is over.
                let filled =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.fill(&table)));
                ffi::lua_settop(main, top);
                match filled {
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
            if had_mt {
                if result.is_err() {
                    ffi::lua_pushvalue(state, mt_at);
                    ffi::lua_setmetatable(state, idx);
                }
                ffi::lua_settop(state, mt_at - 1);
            }
            result
        };
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
        let refs = self.refs.get();
        // SAFETY: `state` is the stack `cx` pushes to; 3 slots are reserved and exactly
        // one value (the table) stays pushed. The source's lifetime is erased: `expire`
        // removes the entry before the call returns (see `raw_call::call`).
        unsafe {
            if ffi::lua_checkstack(state, 3) == 0 {
                return Err(mlua::Error::StackError);
            }
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
            });
        }
        Ok(())
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
    // SAFETY: Lua calls `__index(t, k)` with the lazy table at 1 (absent key `k`). The
    // whole table is filled on the first touch, in field order, so that it ends up
    // laid out as a full table of the same type.
    unsafe {
        ffi::lua_settop(state, 2);
        fill_or_raise(state, 1);
        ffi::lua_rawget(state, 1);
        1
    }
}

unsafe extern "C-unwind" fn lazy_newindex(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__newindex(t, k, v)` with the lazy table at 1 (absent key
    // `k`). A nil or NaN key raises as an assignment to a plain table does, with the
    // script's position (`luaL_error` names the calling Lua function).
    unsafe {
        ffi::lua_settop(state, 3);
        fill_or_raise(state, 1);
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
