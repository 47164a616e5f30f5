//! The script environment: what a hook script can see.
//!
//! Every state opens only `string`, `table`, `math`, `utf8` and `coroutine`, removes
//! `string.dump`, and hides the string metatable (`getmetatable("")` is `false`). Every
//! script gets its own environment table holding copies of those libraries, the safe
//! base functions, `log` and `shared`; so one script changing `string.upper` or its own
//! `_G` changes nothing for another. `load`, `loadstring`, `dofile`, `loadfile`,
//! `require`, `debug`, `os`, `io`, `package` and `collectgarbage` are absent unless the
//! operator opens them with [`Sandbox::allow`]. `setmetatable` refuses `__gc`
//! finalizers, which would run outside any call's limits. `coroutine.resume`, `wrap`
//! and `close` pass through the limits' guard (see `limits`), so that a stopped script
//! cannot resume coroutines to keep running. Scripts are compiled as text only:
//! precompiled bytecode (which can crash the VM) is refused as a syntax error.

use mlua::{Lua, LuaOptions, StdLib, Table, Value, Variadic, ffi};

use crate::shared::{SharedStore, SharedValue};

/// Extra libraries an operator may open for scripts, at their own risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtraLib {
    /// The `os` library (clock, time, date, getenv, and also execute/remove/exit).
    Os,
    /// The `io` library (files).
    Io,
    /// `collectgarbage`, except the options that would switch the collector off or
    /// retune it ("stop", "incremental", "generational", "setpause", "setstepmul"):
    /// those raise an error. A stopped collector would let memory allocated outside
    /// calls (where the memory cap is off) grow without bound.
    CollectGarbage,
}

/// Which libraries scripts see. The default is the safe set described in the module
/// docs.
///
/// ```
/// use frrhook::{ExtraLib, Sandbox};
/// let s = Sandbox::default().allow(ExtraLib::Os);
/// assert!(s.allows(ExtraLib::Os));
/// assert!(!Sandbox::default().allows(ExtraLib::Io));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    extra: Vec<ExtraLib>,
}

impl Sandbox {
    /// Opens `lib` to every script of the runtime.
    #[must_use]
    pub fn allow(mut self, lib: ExtraLib) -> Self {
        if !self.extra.contains(&lib) {
            self.extra.push(lib);
        }
        self
    }
    /// Whether `lib` is open.
    pub fn allows(&self, lib: ExtraLib) -> bool {
        self.extra.contains(&lib)
    }
}

const PRELUDE: &str = r#"
local guard, stopped, lazy_next, lazy_rawget, lazy_rawset, lazy_rawlen, lazy_getmetatable,
  force, lazy_pairs = ...
local G = _G
local pairs, ipairs, rawget, type, error, pcall = pairs, ipairs, rawget, type, error, pcall
local raw_setmetatable = setmetatable
local co_create, co_resume, co_close, co_status =
  coroutine.create, coroutine.resume, coroutine.close, coroutine.status
local raw_collectgarbage = collectgarbage
getmetatable("").__metatable = false
string.dump = nil
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end
local base = { "assert", "error", "ipairs", "pairs", "pcall", "rawequal", "select",
  "tonumber", "tostring", "type", "xpcall" }
-- These fill a lazy argument table first (see lazy.rs), then do what Lua's do.
local filling = { next = lazy_next, rawget = lazy_rawget, rawset = lazy_rawset,
  rawlen = lazy_rawlen, getmetatable = lazy_getmetatable, pairs = lazy_pairs }
local function safe_setmetatable(t, mt)
  force(t)
  force(mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc finalizers are not allowed in hook scripts", 2)
  end
  -- Called through pcall so that errors name `setmetatable` and the script's line.
  local ok, r = pcall(raw_setmetatable, t, mt)
  if not ok then error(r, 2) end
  return r
end
-- Every way to run a coroutine goes through `guard` (see limits.rs).
local function resume(co, ...)
  guard(co)
  return co_resume(co, ...)
end
local function close(co)
  guard(co)
  return co_close(co)
end
local function wrap_results(co, ok, ...)
  if ok then return ... end
  local err = ...
  -- As Lua's own wrap: close the dead coroutine's pending variables, and propagate
  -- the error with the caller's position.
  if co_status(co) == "dead" then
    guard(co)
    local _, cerr = co_close(co)
    if cerr ~= nil then err = cerr end
  end
  if type(err) == "string" then error(err, 2) end
  error(err, 0)
end
local function wrap(f)
  local co = co_create(f)
  return function(...)
    guard(co)
    return wrap_results(co, co_resume(co, ...))
  end
end
-- Lua runs the message handler of an error raised by the limits' hook with hooks off:
-- once a limit tripped, the script's handler is not run at all.
local raw_xpcall = xpcall
local function safe_xpcall(f, msgh, ...)
  if type(msgh) ~= "function" then return raw_xpcall(f, msgh, ...) end
  return raw_xpcall(f, function(e)
    if stopped() then return e end
    return msgh(e)
  end, ...)
end
local gc_allowed = { collect = true, count = true, step = true, isrunning = true,
  restart = true }
local function safe_collectgarbage(opt, ...)
  if opt ~= nil and not gc_allowed[opt] then
    error("collectgarbage: option '" .. tostring(opt) .. "' is not allowed in hook scripts", 2)
  end
  return raw_collectgarbage(opt, ...)
end
return function(log, shared, extras)
  local env = {}
  for _, k in ipairs(base) do env[k] = G[k] end
  for k, f in pairs(filling) do env[k] = f end
  env.setmetatable = safe_setmetatable
  env.xpcall = safe_xpcall
  env._VERSION = G._VERSION
  env.string = copy(G.string)
  env.table = copy(G.table)
  env.math = copy(G.math)
  env.utf8 = copy(G.utf8)
  env.coroutine = copy(G.coroutine)
  env.coroutine.resume = resume
  env.coroutine.close = close
  env.coroutine.wrap = wrap
  env.log = log
  env.print = log.info
  env.shared = shared
  -- Library tables are copied too, so no script changes another's `os` or `io`.
  for k, v in pairs(extras) do env[k] = type(v) == "table" and copy(v) or v end
  if extras.collectgarbage then env.collectgarbage = safe_collectgarbage end
  env._G = env
  return env
end
"#;

/// Switches `lua`'s collector to Lua 5.4's generational mode (default parameters).
///
/// A hook call makes a handful of tables and strings that die when it returns: the
/// young garbage a generational collector frees without walking the whole heap again.
/// On the demo's route-map it takes about 2,000 instructions off each call
/// (`docs/PERFORMANCE.md`, *Garbage collection*); what a script keeps (globals, the
/// shared store's tables) becomes old and is left alone by the minor collections.
fn use_generational_gc(lua: &Lua) {
    // SAFETY: `lua_gc` with `LUA_GCGEN` only changes the collector's mode and
    // parameters (0: keep the defaults); it raises nothing and runs no Lua code.
    unsafe {
        lua.exec_raw_lua(|raw| {
            ffi::lua_gc(raw.state(), ffi::LUA_GCGEN, 0, 0);
        })
    };
}

/// A Lua state prepared for hook scripts, with the function that makes environments.
pub(crate) struct SandboxedLua {
    pub(crate) lua: Lua,
    /// Lazy `&T` arguments (see `lazy.rs`): owned by the state (app data), valid while
    /// `lua` lives; read it with [`lazy`](Self::lazy).
    lazy: *const crate::lazy::LazyArgs,
    make_env: mlua::Function,
    sandbox: Sandbox,
}

impl SandboxedLua {
    pub(crate) fn new(sandbox: &Sandbox) -> mlua::Result<Self> {
        let mut libs =
            StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8 | StdLib::COROUTINE;
        if sandbox.allows(ExtraLib::Os) {
            libs |= StdLib::OS;
        }
        if sandbox.allows(ExtraLib::Io) {
            libs |= StdLib::IO;
        }
        let lua = Lua::new_with(libs, LuaOptions::default())?;
        use_generational_gc(&lua);
        // SAFETY: `guard_thread` is a Lua C function that only reads its first argument
        // and raises errors through `luaL_error`.
        let guard = unsafe { lua.create_c_function(crate::limits::guard_thread)? };
        // SAFETY: `limit_stopped` only pushes a boolean.
        let stopped = unsafe { lua.create_c_function(crate::limits::limit_stopped)? };
        let (lazy, wrappers) = crate::lazy::LazyArgs::install(&lua)?;
        let mut args = mlua::MultiValue::new();
        args.push_back(Value::Function(guard));
        args.push_back(Value::Function(stopped));
        args.extend(wrappers.into_iter().map(Value::Function));
        let make_env = lua
            .load(PRELUDE)
            .set_name("=frrhook.sandbox")
            .call::<mlua::Function>(args)?;
        Ok(SandboxedLua {
            lua,
            lazy,
            make_env,
            sandbox: sandbox.clone(),
        })
    }

    /// The state's lazy-argument machinery.
    pub(crate) fn lazy(&self) -> &crate::lazy::LazyArgs {
        // SAFETY: the state owns it (app data) and `self.lua` keeps the state alive for
        // as long as `self` lives.
        unsafe { &*self.lazy }
    }

    /// A fresh environment for script `script`.
    pub(crate) fn make_env(&self, script: &str, shared: &SharedStore) -> mlua::Result<Table> {
        let lua = &self.lua;
        let log = make_log(lua, script)?;
        let shared_t = make_shared(lua, shared)?;
        let extras = lua.create_table()?;
        let globals = lua.globals();
        if self.sandbox.allows(ExtraLib::Os) {
            extras.raw_set("os", globals.raw_get::<Value>("os")?)?;
        }
        if self.sandbox.allows(ExtraLib::Io) {
            extras.raw_set("io", globals.raw_get::<Value>("io")?)?;
        }
        if self.sandbox.allows(ExtraLib::CollectGarbage) {
            // The PRELUDE replaces it with the filtered version.
            extras.raw_set("collectgarbage", true)?;
        }
        self.make_env.call((log, shared_t, extras))
    }
}

/// Joins log arguments the way `print` does, without calling metamethods.
fn join_args(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match v {
            Value::String(s) => out.push_str(&String::from_utf8_lossy(&s.as_bytes())),
            Value::Integer(n) => out.push_str(&n.to_string()),
            Value::Number(n) => out.push_str(&crate::codec::value::format_number(*n)),
            Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Nil => out.push_str("nil"),
            other => out.push_str(crate::codec::type_name(other)),
        }
    }
    out
}

fn make_log(lua: &Lua, script: &str) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 6)?;
    macro_rules! level {
        ($key:literal, $level:ident) => {{
            let name: std::sync::Arc<str> = script.into();
            t.raw_set(
                $key,
                lua.create_function(move |_, args: Variadic<Value>| {
                    let msg = join_args(&args);
                    tracing::event!(target: "frrhook::script", tracing::Level::$level, script = %name, level = $key, "{msg}");
                    Ok(())
                })?,
            )?;
        }};
    }
    level!("trace", TRACE);
    level!("debug", DEBUG);
    level!("info", INFO);
    level!("notice", INFO);
    level!("warn", WARN);
    level!("error", ERROR);
    Ok(t)
}

/// Bounds on what scripts put in the shared store, which lives in host memory outside
/// every Lua state's memory cap: at most [`SHARED_MAX_ENTRIES`] keys (scripts cannot add
/// more; the host can), keys of at most [`SHARED_MAX_KEY`] bytes and strings of at most
/// [`SHARED_MAX_VALUE`] bytes. The store thus holds at most about 280 MiB of script
/// data, instead of whatever a loop of `shared.set(i, string.rep("x", 1e6))` makes.
pub(crate) const SHARED_MAX_ENTRIES: usize = 65_536;
/// See [`SHARED_MAX_ENTRIES`].
pub(crate) const SHARED_MAX_KEY: usize = 256;
/// See [`SHARED_MAX_ENTRIES`].
pub(crate) const SHARED_MAX_VALUE: usize = 4096;

fn to_shared(v: &Value, what: &str) -> mlua::Result<Option<SharedValue>> {
    Ok(match v {
        Value::Nil => None,
        Value::Boolean(b) => Some(SharedValue::Boolean(*b)),
        Value::Integer(i) => Some(SharedValue::Integer(*i)),
        Value::Number(n) => Some(SharedValue::Number(*n)),
        Value::String(s) if s.as_bytes().len() > SHARED_MAX_VALUE => {
            return Err(mlua::Error::RuntimeError(format!(
                "{what}: shared strings are at most {SHARED_MAX_VALUE} bytes, got {}",
                s.as_bytes().len()
            )));
        }
        Value::String(s) => Some(SharedValue::String(std::sync::Arc::from(&*s.as_bytes()))),
        other => {
            return Err(mlua::Error::RuntimeError(format!(
                "{what}: shared values are nil, boolean, number or string, got {}",
                crate::codec::type_name(other)
            )));
        }
    })
}

fn from_shared(lua: &Lua, v: Option<SharedValue>) -> mlua::Result<Value> {
    Ok(match v {
        None => Value::Nil,
        Some(SharedValue::Boolean(b)) => Value::Boolean(b),
        Some(SharedValue::Integer(i)) => Value::Integer(i),
        Some(SharedValue::Number(n)) => Value::Number(n),
        Some(SharedValue::String(s)) => Value::String(lua.create_string(&*s)?),
    })
}

fn key_bytes(v: &Value, what: &str) -> mlua::Result<Vec<u8>> {
    let key = match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(i) => i.to_string().into_bytes(),
        other => {
            return Err(mlua::Error::RuntimeError(format!(
                "{what}: keys are strings, got {}",
                crate::codec::type_name(other)
            )));
        }
    };
    if key.len() > SHARED_MAX_KEY {
        return Err(mlua::Error::RuntimeError(format!(
            "{what}: shared keys are at most {SHARED_MAX_KEY} bytes, got {}",
            key.len()
        )));
    }
    Ok(key)
}

/// Refuses to add a key to a full store (replacing or removing is always allowed).
fn check_room(store: &SharedStore, key: &[u8], what: &str) -> mlua::Result<()> {
    if store.len() >= SHARED_MAX_ENTRIES && store.get(key).is_none() {
        return Err(mlua::Error::RuntimeError(format!(
            "{what}: the shared store is full ({SHARED_MAX_ENTRIES} keys); remove keys with shared.set(key, nil)"
        )));
    }
    Ok(())
}

fn make_shared(lua: &Lua, store: &SharedStore) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 4)?;
    let s = store.clone();
    t.raw_set(
        "get",
        lua.create_function(move |lua, k: Value| {
            from_shared(lua, s.get(key_bytes(&k, "shared.get")?))
        })?,
    )?;
    let s = store.clone();
    t.raw_set(
        "set",
        lua.create_function(move |_, (k, v): (Value, Value)| {
            let key = key_bytes(&k, "shared.set")?;
            let value = to_shared(&v, "shared.set")?;
            if value.is_some() {
                check_room(&s, &key, "shared.set")?;
            }
            s.set(key, value);
            Ok(())
        })?,
    )?;
    let s = store.clone();
    t.raw_set(
        "incr",
        lua.create_function(move |_, (k, d): (Value, Option<i64>)| {
            let key = key_bytes(&k, "shared.incr")?;
            check_room(&s, &key, "shared.incr")?;
            s.incr(key, d.unwrap_or(1))
                .map_err(mlua::Error::RuntimeError)
        })?,
    )?;
    let s = store.clone();
    t.raw_set(
        "cas",
        lua.create_function(move |_, (k, old, new): (Value, Value, Value)| {
            let old = to_shared(&old, "shared.cas")?;
            let key = key_bytes(&k, "shared.cas")?;
            let new = to_shared(&new, "shared.cas")?;
            if new.is_some() {
                check_room(&s, &key, "shared.cas")?;
            }
            Ok(s.cas(key, old.as_ref(), new))
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_states_collect_generationally() {
        let sb = SandboxedLua::new(&Sandbox::default()).unwrap();
        // SAFETY: `LUA_GCINC` with zeros switches the mode back and keeps the
        // parameters; it returns the mode the state was in.
        let previous = unsafe {
            sb.lua
                .exec_raw_lua(|raw| ffi::lua_gc(raw.state(), ffi::LUA_GCINC, 0, 0, 0))
        };
        assert_eq!(previous, ffi::LUA_GCGEN);
        // A plain mlua state starts incremental: the switch is ours.
        let plain = Lua::new();
        let previous =
            unsafe { plain.exec_raw_lua(|raw| ffi::lua_gc(raw.state(), ffi::LUA_GCINC, 0, 0, 0)) };
        assert_eq!(previous, ffi::LUA_GCINC);
    }
}
