//! Lazy `&T` arguments: the runtime side of [`crate::codec::lazy`].
//!
//! A hook argument passed as `&T`, where `T` derives `LuaCodec` and is `Clone +
//! 'static`, reaches the script as an empty table whose metatable (`live`) fills in
//! every field the first time the script touches the table, then removes itself. A
//! route-map that never looks at `peer` never pays for `peer`'s table.
//!
//! What a script can observe is what it observes of a fresh table:
//! - every way to look at a table fills it first: indexing and assigning (`__index`,
//!   `__newindex`), `pairs`, `#`, `ipairs` and the `table` library (through `__index`
//!   and `__len`), and the sandbox's `next`, `rawget`, `rawset`, `rawlen`,
//!   `getmetatable` and `setmetatable` (see [`SANDBOX_WRAPPERS`]); decoders call
//!   [`crate::codec::lazy::force`]. After that it is a plain table without a metatable;
//! - when the call ends, a table the script never touched gets an owned copy of the
//!   value (`expired` metatable, the copy in a userdata found through a weak-keyed
//!   table), so a table kept in a global shows the values of *its* call, never of a later
//!   one, whenever it is read. At most [`MAX_KEPT`] such copies live in one state (they
//!   sit outside the memory cap); past that, an untouched table is filled when its call
//!   ends, in Lua memory.
//! - a field that cannot be encoded (a `u64` above `i64::MAX`) raises an error naming
//!   the argument when the table is filled, and the call fails with
//!   [`ErrorKind::Encode`](crate::ErrorKind::Encode) even if the script caught it.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_int, c_void};
use std::rc::Rc;

use mlua::{Lua, ffi};

use crate::codec::lazy::{LazySink, LazySource, fill_key};
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

/// The copy an untouched table keeps after its call (a userdata's content).
struct Kept {
    inner: Option<KeptInner>,
}
struct KeptInner {
    source: Box<dyn LazySource>,
    name: &'static str,
    _count: KeptCount,
}

/// Counts the live [`Kept`] copies of a state.
struct KeptCount(Rc<Cell<usize>>);
impl KeptCount {
    fn new(count: &Rc<Cell<usize>>) -> Self {
        count.set(count.get() + 1);
        KeptCount(count.clone())
    }
}
impl Drop for KeptCount {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// Registry references of the tables the mechanism uses.
#[derive(Default, Clone, Copy)]
struct Refs {
    live_mt: c_int,
    expired_mt: c_int,
    /// `table -> Kept userdata`, weak keys.
    kept_by: c_int,
    /// The lazy tables of the running call, by position (so `expire` can reach them).
    pinned: c_int,
    kept_mt: c_int,
}

/// The lazy-argument machinery of one Lua state. Boxed: its address is an upvalue of
/// the metamethods.
pub(crate) struct LazyArgs {
    lua: Lua,
    live: RefCell<Vec<Live>>,
    failed: RefCell<Option<String>>,
    kept: Rc<Cell<usize>>,
    refs: Cell<Refs>,
    live_mt: Cell<*const c_void>,
    expired_mt: Cell<*const c_void>,
}

/// The sandbox functions that fill a lazy table before doing what Lua's do, in the
/// order the prelude receives them.
pub(crate) const SANDBOX_WRAPPERS: [(&CStr, ffi::lua_CFunction); 6] = [
    (c"next", sandbox_next),
    (c"rawget", sandbox_rawget),
    (c"rawset", sandbox_rawset),
    (c"rawlen", sandbox_rawlen),
    (c"getmetatable", sandbox_getmetatable),
    (c"force", sandbox_force),
];

impl LazyArgs {
    /// Sets up the metatables in `lua`; returns the machinery and the sandbox wrappers
    /// (as [`SANDBOX_WRAPPERS`]) to hand to the prelude.
    pub(crate) fn new(lua: &Lua) -> mlua::Result<(Box<LazyArgs>, Vec<mlua::Function>)> {
        let this = Box::new(LazyArgs {
            lua: lua.clone(),
            live: RefCell::new(Vec::new()),
            failed: RefCell::new(None),
            kept: Rc::new(Cell::new(0)),
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
                    ffi::lua_getglobal(state, c"next".as_ptr());
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
                ffi::lua_createtable(state, 0, 2);
                ffi::lua_pushcfunction(state, drop_kept);
                ffi::lua_setfield(state, -2, c"__gc".as_ptr());
                ffi::lua_pushboolean(state, 0);
                ffi::lua_setfield(state, -2, c"__metatable".as_ptr());
                let kept_mt = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                this.live_mt.set(live_p);
                this.expired_mt.set(expired_p);
                this.refs.set(Refs {
                    live_mt,
                    expired_mt,
                    kept_by,
                    pinned,
                    kept_mt,
                });
                let mut wrappers = Vec::with_capacity(SANDBOX_WRAPPERS.len());
                for (_, f) in SANDBOX_WRAPPERS {
                    ffi::lua_pushlightuserdata(state, me);
                    ffi::lua_pushcclosure(state, f, 1);
                    match raw.pop_value() {
                        mlua::Value::Function(f) => wrappers.push(f),
                        _ => return Err(mlua::Error::StackError),
                    }
                }
                Ok(wrappers)
            }
        })?;
        Ok((this, wrappers))
    }

    /// Where the lazy tables of a call start: pass it to [`expire`](Self::expire).
    pub(crate) fn mark(&self) -> usize {
        self.live.borrow().len()
    }

    /// The error of a table that could not be filled during the call, if any.
    pub(crate) fn take_failure(&self) -> Option<String> {
        self.failed.borrow_mut().take()
    }

    /// Copies of untouched arguments alive in this state.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.kept.get()
    }

    /// Ends the lazy tables made since `mark`: each one the script never touched keeps
    /// a copy of its value (or is filled, past [`MAX_KEPT`]). Call it before the
    /// borrowed arguments go away, whatever the call's outcome.
    ///
    /// # Safety
    /// `state` is a thread of this state, with no memory limit set.
    pub(crate) unsafe fn expire(&self, state: *mut ffi::lua_State, mark: usize) {
        let ended: Vec<Live> = {
            let mut live = self.live.borrow_mut();
            if live.len() <= mark {
                return;
            }
            live.split_off(mark)
        };
        let refs = self.refs.get();
        // SAFETY: `state` is a live thread (contract); 6 slots are reserved and the top
        // is restored. The sources in `ended` are still borrowed (contract).
        unsafe {
            if ffi::lua_checkstack(state, 6) == 0 {
                return;
            }
            let top = ffi::lua_gettop(state);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.pinned.into());
            let pinned = top + 1;
            for (i, entry) in ended.iter().enumerate() {
                let pos = (mark + i + 1) as ffi::lua_Integer;
                ffi::lua_rawgeti(state, pinned, pos);
                let t = ffi::lua_gettop(state);
                if self.is_live(state, t) {
                    if self.kept.get() < MAX_KEPT {
                        self.keep(state, t, entry);
                    } else {
                        let _ = self.fill_from(state, t, &*entry.source, entry.name);
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
        // SAFETY: `t` is a valid index (caller); one slot is pushed and popped.
        unsafe {
            if ffi::lua_getmetatable(state, t) == 0 {
                return false;
            }
            let mt = ffi::lua_topointer(state, -1);
            ffi::lua_settop(state, -2);
            mt == self.live_mt.get()
        }
    }

    /// Gives the untouched table at absolute index `t` a copy of its value.
    unsafe fn keep(&self, state: *mut ffi::lua_State, t: c_int, entry: &Live) {
        let refs = self.refs.get();
        // SAFETY: `entry.source` is still borrowed (see `expire`); the userdata is
        // written before anything can collect it, and its metatable's `__gc` drops the
        // copy exactly once (`Option::take`).
        unsafe {
            let copy = (*entry.source).snapshot();
            let ud = ffi::lua_newuserdatauv(state, std::mem::size_of::<Kept>(), 0).cast::<Kept>();
            ud.write(Kept {
                inner: Some(KeptInner {
                    source: copy,
                    name: entry.name,
                    _count: KeptCount::new(&self.kept),
                }),
            });
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.kept_mt.into());
            ffi::lua_setmetatable(state, -2);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.kept_by.into());
            ffi::lua_pushvalue(state, t);
            ffi::lua_pushvalue(state, -3);
            ffi::lua_rawset(state, -3);
            ffi::lua_settop(state, -3);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, refs.expired_mt.into());
            ffi::lua_setmetatable(state, t);
        }
    }

    /// Fills the table at `idx` if it is lazy (nothing otherwise). An error message
    /// naming the argument when a field could not be encoded.
    ///
    /// # Safety
    /// `state` is a thread of this state and `idx` a valid index.
    pub(crate) unsafe fn fill(&self, state: *mut ffi::lua_State, idx: c_int) -> Result<(), String> {
        // SAFETY: per the contract; the stack is restored on every path.
        unsafe {
            if ffi::lua_type(state, idx) != ffi::LUA_TTABLE {
                return Ok(());
            }
            let idx = ffi::lua_absindex(state, idx);
            if ffi::lua_checkstack(state, 4) == 0 {
                return Err("Lua stack exhausted".into());
            }
            if ffi::lua_getmetatable(state, idx) == 0 {
                return Ok(());
            }
            let mt = ffi::lua_topointer(state, -1);
            ffi::lua_settop(state, -2);
            if mt == self.live_mt.get() {
                let p = ffi::lua_topointer(state, idx);
                let found = self
                    .live
                    .borrow()
                    .iter()
                    .rev()
                    .find(|l| l.table == p)
                    .map(|l| (l.source, l.name));
                match found {
                    Some((source, name)) => self.fill_from(state, idx, &*source, name),
                    None => Err("an argument table outlived its call".into()),
                }
            } else if mt == self.expired_mt.get() {
                let top = ffi::lua_gettop(state);
                ffi::lua_rawgeti(
                    state,
                    ffi::LUA_REGISTRYINDEX,
                    self.refs.get().kept_by.into(),
                );
                ffi::lua_pushvalue(state, idx);
                ffi::lua_rawget(state, -2);
                let kept = ffi::lua_touserdata(state, -1).cast::<Kept>();
                let result = match kept.as_ref().and_then(|k| k.inner.as_ref()) {
                    // The userdata stays on the stack (alive) while the table is filled.
                    Some(k) => self.fill_from(state, idx, &*k.source, k.name),
                    None => Err("an argument table lost its value".into()),
                };
                // The table is plain now: its copy can go.
                ffi::lua_pushvalue(state, idx);
                ffi::lua_pushnil(state);
                ffi::lua_rawset(state, top + 1);
                ffi::lua_settop(state, top);
                result
            } else {
                Ok(())
            }
        }
    }

    /// Removes the metatable of the table at absolute index `idx` and sets the fields of
    /// `source` on it, with the memory cap off (as for every argument).
    unsafe fn fill_from(
        &self,
        state: *mut ffi::lua_State,
        idx: c_int,
        source: &dyn LazySource,
        name: &'static str,
    ) -> Result<(), String> {
        // SAFETY: `idx` is an absolute index of a table (caller). The fields are set on
        // the state mlua considers current (`main`), where `RawCx` may push values
        // through mlua; the table is moved there and the top restored.
        let result = unsafe {
            ffi::lua_pushnil(state);
            ffi::lua_setmetatable(state, idx);
            let cap = self.lua.set_memory_limit(0).unwrap_or(0);
            let result = self.lua.exec_raw_lua(|raw| {
                let main = raw.state();
                if ffi::lua_checkstack(main, 4) == 0 || ffi::lua_checkstack(state, 1) == 0 {
                    return Err(mlua::Error::StackError);
                }
                let top = ffi::lua_gettop(main);
                ffi::lua_pushvalue(state, idx);
                ffi::lua_xmove(state, main, 1);
                let cx = RawCx::new(&self.lua, main);
                let table = TableCx::existing(&cx, top + 1);
                let r = source.fill(&table);
                ffi::lua_settop(main, top);
                r
            });
            let _ = self.lua.set_memory_limit(cap);
            result
        };
        result.map_err(|e| {
            let msg = format!("argument `{name}`: {e}");
            let mut failed = self.failed.borrow_mut();
            if failed.is_none() {
                *failed = Some(msg.clone());
            }
            msg
        })
    }
}

impl LazySink for LazyArgs {
    fn push_lazy(
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
            ffi::lua_createtable(state, 0, 0);
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

/// Fills the table at `idx` if it is lazy, or raises the fill's error.
unsafe fn fill_or_raise(state: *mut ffi::lua_State, idx: c_int) {
    // SAFETY: called from a C function of ours on `state`. No Rust value with a
    // destructor is alive when `lua_error` unwinds past this frame (the message is
    // pushed and dropped first).
    unsafe {
        if let Err(msg) = this(state).fill(state, idx) {
            ffi::lua_pushlstring(state, msg.as_ptr().cast(), msg.len());
            drop(msg);
            ffi::lua_error(state);
        }
    }
}

unsafe extern "C-unwind" fn lazy_index(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__index(t, k)` with the lazy table at 1.
    unsafe {
        fill_or_raise(state, 1);
        ffi::lua_settop(state, 2);
        ffi::lua_rawget(state, 1);
        1
    }
}

unsafe extern "C-unwind" fn lazy_newindex(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls `__newindex(t, k, v)` with the lazy table at 1. `lua_rawset`
    // raises for a nil or NaN key, as an assignment to a plain table does.
    unsafe {
        fill_or_raise(state, 1);
        ffi::lua_settop(state, 3);
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

unsafe extern "C-unwind" fn drop_kept(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: `__gc` of a `Kept` userdata (the only values with this metatable, and
    // scripts cannot reach them).
    unsafe {
        let kept = ffi::lua_touserdata(state, 1).cast::<Kept>();
        if let Some(k) = kept.as_mut() {
            drop(k.inner.take());
        }
        0
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
            return ffi::luaL_error(
                state,
                c"bad argument #1 to 'rawlen' (table or string expected)".as_ptr(),
            );
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
            // SAFETY: `state` is `lua`'s current stack; what is pushed is popped.
            unsafe {
                let cx = RawCx::new(lua, state).with_lazy(&*sb.lazy);
                let mark = sb.lazy.mark();
                ffi::lua_getglobal(state, c"kept".as_ptr());
                for v in values {
                    v.push_ref_arg(&cx, "probe").unwrap();
                    let n = ffi::lua_rawlen(state, -2) as ffi::lua_Integer;
                    ffi::lua_rawseti(state, -2, n + 1);
                }
                ffi::lua_settop(state, -2);
                sb.lazy.expire(state, mark);
            }
        });
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
        assert_eq!(sb.lazy.kept(), MAX_KEPT);
        let sum: u64 = sb
            .lua
            .load("local s = 0 for _, t in ipairs(kept) do s = s + t.n end return s")
            .eval()
            .unwrap();
        let n = MAX_KEPT as u64 + 100;
        assert_eq!(sum, n * (n + 1) / 2);
        // Reading filled them: their copies are released at the next collection.
        sb.lua.gc_collect().unwrap();
        sb.lua.gc_collect().unwrap();
        assert_eq!(sb.lazy.kept(), 0);

        // Untouched tables dropped by the script: their copies go with them.
        call_keeping(&sb, &values[..10]);
        assert_eq!(sb.lazy.kept(), 10);
        sb.lua.load("kept = {}").exec().unwrap();
        sb.lua.gc_collect().unwrap();
        sb.lua.gc_collect().unwrap();
        assert_eq!(sb.lazy.kept(), 0);
    }
}
