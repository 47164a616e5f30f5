//! One script call on the raw Lua stack: the function from a registry reference, the
//! arguments pushed by their `push_raw` encoders, `lua_pcall` with our message handler,
//! and exactly one table back. No `mlua::Value` is built for the arguments and no
//! `MultiValue` is allocated.

use std::ffi::c_int;

use mlua::{Function, Lua, Table, Value, ffi};

use crate::__private::ArgEncodeError;
use crate::codec::raw::RawCx;
use crate::lazy::LazyArgs;
use crate::limits::Limits;
use crate::{ErrorKind, HookError};

/// A Lua function kept in the registry of its state, pushed by index.
pub(crate) struct RegistryFn {
    index: c_int,
}

impl RegistryFn {
    /// Stores `f` in the registry of `lua` (the state `f` belongs to).
    pub(crate) fn new(lua: &Lua, f: &Function) -> Result<Self, HookError> {
        let v = Value::Function(f.clone());
        lua.exec_raw_lua(|raw| {
            let state = raw.state();
            // SAFETY: `state` is `lua`'s current stack; we reserve the slot we use and
            // `luaL_ref` pops it again.
            unsafe {
                if ffi::lua_checkstack(state, 3) == 0 {
                    return Err(HookError::new(ErrorKind::Runtime, "Lua stack exhausted"));
                }
                raw.push_value(&v)
                    .map_err(|e| HookError::new(ErrorKind::Runtime, e.to_string()))?;
                Ok(RegistryFn {
                    index: ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX),
                })
            }
        })
    }
}

/// Turns the error object into "message\nstack traceback:\n...", as mlua does, so
/// `lua_error::convert` finds the line and the traceback.
unsafe extern "C-unwind" fn message_handler(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with the error object at index 1.
    unsafe {
        if ffi::lua_checkstack(state, 2) == 0 {
            return 1;
        }
        let msg = match ffi::lua_type(state, 1) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                ffi::lua_tolstring(state, 1, std::ptr::null_mut())
            }
            ffi::LUA_TNIL => c"nil".as_ptr(),
            // Tables and userdata: their __tostring (mlua's errors have one), else the
            // type and address, as luaL_tolstring does.
            _ => ffi::luaL_tolstring(state, 1, std::ptr::null_mut()),
        };
        ffi::luaL_traceback(state, state, msg, 1);
        1
    }
}

/// What one call exchanges with the function: the arguments pushed before it runs, and
/// what is read from the table it returned while that table is still on the stack.
pub(crate) trait Exchange {
    /// What `read` gives back.
    type Out;
    /// Pushes the arguments; returns how many.
    fn push(&mut self, cx: &RawCx<'_>) -> Result<i32, ArgEncodeError>;
    /// Reads the returned table at stack index `idx` (only after a call that succeeded).
    fn read(&mut self, cx: &RawCx<'_>, idx: c_int) -> Self::Out;
}

/// How one raw call ended.
enum Outcome<R> {
    /// The one table the function returned (when kept), and what was read from it.
    Table(Option<Table>, R),
    /// It returned something else (the message says what).
    NotATable(String),
    /// An argument could not be encoded (the function did not run).
    Encode(String),
    /// The function raised an error (or ran out of memory); boxed, as the rare case.
    Failed(Box<mlua::Error>),
}

/// A failed call of [`call_checked`]: the error (naming the script, and the line when
/// Lua gave one) and whether the state must be replaced (a memory error left it full).
pub(crate) struct Failure {
    pub(crate) error: HookError,
    pub(crate) poisoned: bool,
}

/// Calls `f` (of script `script`, defined at `line`) with the arguments `push` puts on
/// the stack, and checks the outcome the same way for hooks and for `Script`: errors
/// converted with their line, a stop the script swallowed still a limit stop, memory
/// collected after a memory error, exactly one table returned. The table is given back
/// only if `keep`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn call_checked<X: Exchange>(
    lua: &Lua,
    lazy: Option<&LazyArgs>,
    f: &RegistryFn,
    exchange: &mut X,
    limits: &Limits,
    script: &str,
    line: Option<u32>,
    keep: bool,
) -> Result<(Option<Table>, X::Out), Failure> {
    let (outcome, tripped) = call(lua, lazy, f, exchange, limits, keep);
    let failed = |e: mlua::Error| {
        let error = crate::lua_error::convert(&e, script, tripped).or_line(line);
        let poisoned =
            error.kind() == ErrorKind::Memory && !crate::limits::recover_memory(lua, limits);
        Failure { error, poisoned }
    };
    let plain = |kind: ErrorKind, m: String| Failure {
        error: HookError::new(kind, m).with_script(script).or_line(line),
        poisoned: false,
    };
    match (outcome, tripped) {
        (Outcome::Failed(e), _) => Err(failed(*e)),
        (Outcome::Encode(m), _) => Err(plain(ErrorKind::Encode, m)),
        // A limit tripped but the script swallowed the error: still a limit stop.
        (_, Some(kind)) => Err(failed(crate::limits::swallowed(kind, limits))),
        (Outcome::NotATable(m), None) => Err(plain(ErrorKind::NotATable, m)),
        (Outcome::Table(t, r), None) => Ok((t, r)),
    }
}

/// Calls `f` with the arguments `push` puts on the stack, under `limits`, armed only
/// while the function runs (never while arguments are pushed). Returns the outcome and
/// the limit that tripped, if any. With `lazy`, `&T` arguments may be lazy tables; they
/// are ended (`LazyArgs::expire`) before this returns, on every path.
fn call<X: Exchange>(
    lua: &Lua,
    lazy: Option<&LazyArgs>,
    f: &RegistryFn,
    exchange: &mut X,
    limits: &Limits,
    keep: bool,
) -> (Outcome<X::Out>, Option<ErrorKind>) {
    lua.exec_raw_lua(|raw| {
        let state = raw.state();
        // SAFETY: everything below works on `state`, `lua`'s current stack, restores
        // its top before returning, and reserves the slots it pushes. No memory limit is
        // set while arguments are pushed (`arm` comes after).
        unsafe {
            let top = ffi::lua_gettop(state);
            // Room for the handler, the function and, after the call, ending the lazy
            // tables (`expire` needs 6 above the call's base).
            if ffi::lua_checkstack(state, 8) == 0 {
                return (Outcome::Failed(Box::new(mlua::Error::StackError)), None);
            }
            let mut guard = CallGuard::new(lazy, state, top);
            ffi::lua_pushcfunction(state, message_handler);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::lua_Integer::from(f.index));
            let cx = RawCx::new(lua, state);
            let nargs = match exchange.push(&cx) {
                Ok(n) => n,
                Err(e) => {
                    ffi::lua_settop(state, top);
                    let outcome = Outcome::Encode(format!("argument `{}`: {}", e.arg, e.error));
                    return (guard.finish(outcome), None);
                }
            };
            if ffi::lua_gettop(state) != top + 2 + nargs {
                ffi::lua_settop(state, top);
                let outcome = Outcome::Encode("an argument encoder pushed the wrong number of values".into());
                return (guard.finish(outcome), None);
            }
            // `state` is the stack `lua.state()` gives.
            let armed = crate::limits::arm_at(lua, state, limits);
            let status = ffi::lua_pcall(state, nargs, ffi::LUA_MULTRET, top + 1);
            let tripped = armed.finish();
            if status != ffi::LUA_OK {
                let text = to_text(state, -1);
                ffi::lua_settop(state, top);
                let err = if status == ffi::LUA_ERRMEM {
                    mlua::Error::MemoryError(text)
                } else {
                    mlua::Error::RuntimeError(text)
                };
                return (guard.finish(Outcome::Failed(Box::new(err))), tripped);
            }
            let nresults = ffi::lua_gettop(state) - top - 1;
            let one_table = nresults == 1 && ffi::lua_type(state, -1) == ffi::LUA_TTABLE;
            if !one_table {
                let message = match nresults {
                    0 => "the function returned nothing; return a table (`return {}` for no results)".to_string(),
                    1 => format!(
                        "the function returned {}, not a table; return a table such as `return {{ action = ... }}`",
                        describe_top(state)
                    ),
                    n => format!("the function returned {n} values; return exactly one table"),
                };
                ffi::lua_settop(state, top);
                return (guard.finish(Outcome::NotATable(message)), tripped);
            }
            if let Some(l) = lazy.filter(|l| l.any()) {
                // The script returned one of its lazy arguments as its result table:
                // fill it, since results are read raw. (A failure is reported by `end`.)
                let _ = l.fill(state, -1);
            }
            if let Some(m) = guard.end() {
                ffi::lua_settop(state, top);
                return (guard.finish(Outcome::Encode(m)), tripped);
            }
            let outcome = if tripped.is_some() {
                // The call fails (a limit stopped it): read nothing, write nothing back.
                Outcome::NotATable(String::new())
            } else {
                let read = exchange.read(&cx, ffi::lua_gettop(state));
                if !keep {
                    Outcome::Table(None, read)
                } else {
                    match raw.pop_value() {
                        Value::Table(t) => Outcome::Table(Some(t), read),
                        _ => Outcome::NotATable("the function did not return a table".into()),
                    }
                }
            };
            ffi::lua_settop(state, top);
            (guard.finish(outcome), tripped)
        }
    })
}

/// The end of one call on the lazy-argument side: every lazy table the call made is
/// ended (`LazyArgs::expire`) before the call returns, on every path, a panic of an
/// argument encoder included (then also the stack is reset); a fill failure or a caught
/// encoder panic decides the outcome.
struct CallGuard<'a> {
    lazy: Option<&'a LazyArgs>,
    state: *mut ffi::lua_State,
    top: c_int,
    mark: usize,
    ended: bool,
    done: bool,
}

impl<'a> CallGuard<'a> {
    fn new(lazy: Option<&'a LazyArgs>, state: *mut ffi::lua_State, top: c_int) -> Self {
        if let Some(l) = lazy {
            l.enter();
        }
        CallGuard {
            lazy,
            state,
            top,
            mark: lazy.map_or(0, LazyArgs::mark),
            ended: false,
            done: false,
        }
    }

    /// Ends the call's lazy tables; the error of one that could not be filled,
    /// whatever the script made of it.
    fn end(&mut self) -> Option<String> {
        let l = self.lazy?;
        if std::mem::replace(&mut self.ended, true) || !l.busy_since(self.mark) {
            return None;
        }
        // SAFETY: `state` is the stack of the call, with room reserved for `expire`.
        unsafe { l.expire(self.state, self.mark) };
        l.take_failure()
    }

    /// Ends the call with `outcome`, or with the encoding error of a table that could
    /// not be filled; resumes the panic of an encoder caught while a table was filled.
    #[inline]
    fn finish<R>(&mut self, outcome: Outcome<R>) -> Outcome<R> {
        let failure = self.end();
        self.done = true;
        if let Some(l) = self.lazy {
            l.leave();
            if let Some(payload) = l.take_panic() {
                // SAFETY: the stack of the call; back to its base before unwinding.
                unsafe { ffi::lua_settop(self.state, self.top) };
                std::panic::resume_unwind(payload);
            }
        }
        match failure {
            Some(m) => Outcome::Encode(m),
            None => outcome,
        }
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Unwinding (an encoder panicked while the arguments were pushed): drop what
        // was pushed and end the lazy tables before the arguments go away.
        // SAFETY: the stack of the call, back to its base, which had room for `expire`.
        unsafe { ffi::lua_settop(self.state, self.top) };
        if let Some(l) = self.lazy {
            // SAFETY: as above.
            unsafe { l.expire(self.state, self.mark) };
            let _ = l.take_failure();
            // Already unwinding: a panic kept meanwhile is dropped, not resumed later.
            drop(l.take_panic());
            l.leave();
        }
    }
}

/// The value at `idx` as text (lossy), without calling metamethods.
unsafe fn to_text(state: *mut ffi::lua_State, idx: c_int) -> String {
    // SAFETY: callers pass a valid index of `state`.
    unsafe {
        if ffi::lua_type(state, idx) == ffi::LUA_TSTRING {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(state, idx, &mut len);
            let bytes = std::slice::from_raw_parts(p.cast::<u8>(), len);
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            "(error object is not a string)".to_string()
        }
    }
}

/// "integer (3)", "nil", "function" for the value on top, as `value::describe` does.
unsafe fn describe_top(state: *mut ffi::lua_State) -> String {
    // SAFETY: the top slot exists (one result).
    unsafe {
        match ffi::lua_type(state, -1) {
            ffi::LUA_TNIL => "nil".to_string(),
            ffi::LUA_TBOOLEAN => format!("boolean ({})", ffi::lua_toboolean(state, -1) != 0),
            ffi::LUA_TNUMBER => {
                let mut ok = 0;
                let i = ffi::lua_tointegerx(state, -1, &mut ok);
                if ok != 0 {
                    format!("integer ({i})")
                } else {
                    format!(
                        "number ({})",
                        crate::codec::value::format_number(ffi::lua_tonumber(state, -1))
                    )
                }
            }
            ffi::LUA_TSTRING => format!("string ({:?})", to_text(state, -1)),
            t => {
                let name = std::ffi::CStr::from_ptr(ffi::lua_typename(state, t));
                name.to_string_lossy().into_owned()
            }
        }
    }
}
