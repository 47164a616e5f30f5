//! Per-call limits: an instruction budget, a wall-clock deadline and a memory cap.
//!
//! The instruction budget and the deadline share one Lua count hook that fires every
//! [`CHECK_EVERY`] instructions. Once a limit trips, the hook of every Lua thread that
//! runs is switched to fire on *every* instruction and raise again, so a script that
//! catches the error with `pcall` (or inside a coroutine) is stopped again at its next
//! instruction: the stop cannot be swallowed.
//!
//! The memory cap uses mlua's allocator limit, switched on only while script code runs:
//! mlua protects every allocating API call while a limit is set, which made argument
//! marshalling much slower when the cap stayed on all the time.

use std::cell::Cell;
use std::ffi::{CStr, c_int};
use std::time::{Duration, Instant};

use mlua::{Lua, ffi};

use crate::ErrorKind;

/// Instructions between two checks of the budget and the deadline.
pub const CHECK_EVERY: i64 = 1000;

/// Limits for one script call (and for running a script's top level at load time).
///
/// The defaults stop runaway scripts without bothering correct ones: ten million
/// instructions, one second, 64 MiB per Lua state.
///
/// ```
/// use frrhook::Limits;
/// use std::time::Duration;
/// let l = Limits::default().instructions(50_000).deadline(Duration::from_millis(5));
/// assert_eq!(l.instruction_budget(), Some(50_000));
/// assert_eq!(Limits::none().memory_cap(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    instructions: Option<u64>,
    deadline: Option<Duration>,
    memory: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: Some(10_000_000),
            deadline: Some(Duration::from_secs(1)),
            memory: Some(64 << 20),
        }
    }
}

impl Limits {
    /// No limits at all (the operator's risk; for benchmarks and trusted code).
    pub const fn none() -> Self {
        Limits {
            instructions: None,
            deadline: None,
            memory: None,
        }
    }
    /// Sets the instruction budget per call.
    #[must_use]
    pub fn instructions(mut self, n: u64) -> Self {
        self.instructions = Some(n);
        self
    }
    /// Removes the instruction budget.
    #[must_use]
    pub fn no_instruction_limit(mut self) -> Self {
        self.instructions = None;
        self
    }
    /// Sets the wall-clock deadline per call.
    #[must_use]
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }
    /// Removes the deadline.
    #[must_use]
    pub fn no_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }
    /// Sets the memory cap of each Lua state, in bytes.
    #[must_use]
    pub fn memory(mut self, bytes: usize) -> Self {
        self.memory = Some(bytes);
        self
    }
    /// Removes the memory cap.
    #[must_use]
    pub fn no_memory_limit(mut self) -> Self {
        self.memory = None;
        self
    }
    /// The instruction budget, if any.
    pub fn instruction_budget(&self) -> Option<u64> {
        self.instructions
    }
    /// The deadline, if any.
    pub fn deadline_duration(&self) -> Option<Duration> {
        self.deadline
    }
    /// The memory cap, if any.
    pub fn memory_cap(&self) -> Option<usize> {
        self.memory
    }
}

#[derive(Clone, Copy)]
struct Frame {
    active: bool,
    instructions_left: i64,
    deadline: Option<Instant>,
    tripped: Option<ErrorKind>,
}

const IDLE: Frame = Frame {
    active: false,
    instructions_left: i64::MAX,
    deadline: None,
    tripped: None,
};

thread_local! {
    static FRAME: Cell<Frame> = const { Cell::new(IDLE) };
}

static INSTRUCTIONS_MSG: &CStr = c"instruction limit exceeded";
static DEADLINE_MSG: &CStr = c"deadline exceeded";

unsafe extern "C-unwind" fn limit_hook(state: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    // SAFETY: called by Lua on `state` with a valid state; nothing here owns a destructor
    // when `luaL_error` unwinds out of this frame.
    unsafe {
        let count = i64::from(ffi::lua_gethookcount(state));
        let tripped = FRAME
            .try_with(|f| {
                let mut fr = f.get();
                if !fr.active {
                    return None;
                }
                if fr.tripped.is_none() {
                    fr.instructions_left = fr.instructions_left.saturating_sub(count.max(1));
                    if fr.instructions_left < 0 {
                        fr.tripped = Some(ErrorKind::InstructionLimit);
                    } else if fr.deadline.is_some_and(|d| Instant::now() >= d) {
                        fr.tripped = Some(ErrorKind::Deadline);
                    }
                    f.set(fr);
                }
                fr.tripped
            })
            .ok()
            .flatten();
        if let Some(kind) = tripped {
            // Fire on every instruction of this thread from now on, so `pcall` cannot
            // keep the script going.
            ffi::lua_sethook(state, Some(limit_hook), ffi::LUA_MASKCOUNT, 1);
            let msg = if kind == ErrorKind::Deadline {
                DEADLINE_MSG
            } else {
                INSTRUCTIONS_MSG
            };
            ffi::luaL_error(state, c"%s".as_ptr(), msg.as_ptr());
        }
    }
}

/// Limits armed for the duration of one script call. `finish` disarms them and says
/// whether one tripped.
pub(crate) struct Armed<'a> {
    lua: &'a Lua,
    saved: Frame,
    hooked: bool,
    memory_set: bool,
}

/// Arms `limits` on `lua` for the current thread.
pub(crate) fn arm<'a>(lua: &'a Lua, limits: &Limits) -> Armed<'a> {
    let saved = FRAME.with(|f| f.get());
    let hooked = limits.instructions.is_some() || limits.deadline.is_some();
    if hooked {
        let frame = Frame {
            active: true,
            instructions_left: limits
                .instructions
                .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            deadline: limits.deadline.map(|d| Instant::now() + d),
            tripped: None,
        };
        FRAME.with(|f| f.set(frame));
        // SAFETY: `lua.state()` is the main state of a live Lua; setting a hook is allowed
        // at any time.
        unsafe {
            ffi::lua_sethook(
                lua.state(),
                Some(limit_hook),
                ffi::LUA_MASKCOUNT,
                CHECK_EVERY as c_int,
            )
        };
    } else {
        FRAME.with(|f| f.set(IDLE));
    }
    let memory_set = match limits.memory {
        Some(cap) => lua.set_memory_limit(cap).is_ok(),
        None => false,
    };
    Armed {
        lua,
        saved,
        hooked,
        memory_set,
    }
}

impl Armed<'_> {
    /// Disarms and returns the limit that tripped, if any.
    pub(crate) fn finish(self) -> Option<ErrorKind> {
        let tripped = FRAME.with(|f| f.get().tripped);
        drop(self);
        tripped
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if self.memory_set {
            let _ = self.lua.set_memory_limit(0);
        }
        if self.hooked {
            // SAFETY: as in `arm`.
            unsafe {
                if self.saved.active {
                    ffi::lua_sethook(
                        self.lua.state(),
                        Some(limit_hook),
                        ffi::LUA_MASKCOUNT,
                        CHECK_EVERY as c_int,
                    );
                } else {
                    ffi::lua_sethook(self.lua.state(), None, 0, 0);
                }
            }
        }
        FRAME.with(|f| f.set(self.saved));
    }
}

/// After a memory error, collect garbage with the cap off so the state is usable again.
pub(crate) fn recover_memory(lua: &Lua) {
    let _ = lua.gc_collect();
    let _ = lua.gc_collect();
}
