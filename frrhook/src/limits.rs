//! Per-call limits: an instruction budget, a wall-clock deadline and a memory cap.
//!
//! The instruction budget and the deadline share one Lua count hook that fires every
//! [`CHECK_EVERY`] instructions (more often with a deadline, when instructions are slow:
//! see `limit_hook`). Once a limit trips, the hook of the thread that noticed it and of
//! the state's main thread (where the call runs) is switched to fire on *every*
//! instruction and raise again, so a script that catches the error with `pcall` (or
//! inside a coroutine) is stopped again at its next instruction: the stop cannot be
//! swallowed.
//!
//! Two Lua behaviours need more than that, because Lua runs some code with hooks off:
//! - the message handler of an error raised from a hook: the sandbox's `xpcall` does not
//!   run the script's handler once a limit tripped (see [`limit_stopped`]);
//! - `__close` handlers of a coroutine killed by the stop (its hooks stay off): the
//!   guard refuses to close or resume it (see `stop`). `__gc` finalizers, which Lua
//!   always runs with hooks off, are refused by the sandbox's `setmetatable`.
//!
//! # Why every stopped call terminates
//!
//! After the trip, every hook that fires raises, and:
//! - a thread whose hook fired runs no further instruction: each one raises, so each
//!   `pcall` that catches the error is left at once by the next error, which unwinds one
//!   more Lua frame; the frames run out (an `xpcall` message handler that is itself
//!   stopped ends in Lua's "error in error handling");
//! - a thread whose hook has not fired yet runs at most [`CHECK_EVERY`] more
//!   instructions before it does;
//! - no coroutine can be resumed any more: the sandbox's `coroutine.resume`,
//!   `coroutine.wrap` and `coroutine.close` go through [`guard_thread`], which raises once
//!   a limit tripped. Without this, a script could resume fresh coroutines from a thread
//!   whose hook has not fired yet, each with a fresh count, nested up to Lua's C-stack
//!   depth: a tree of work exponential in that depth.
//!
//! So after a trip at most `CHECK_EVERY` instructions run on each thread of the current
//! resume chain (at most about 200 deep), and the call returns. A call whose script
//! caught the stop in a coroutine and returned normally anyway is still reported as
//! stopped by the limit.
//!
//! The same guard copies the calling thread's hook onto the coroutine it resumes, so a
//! coroutine created while limits were off (a hook with no limits, or the top level of
//! a runtime without limits) and resumed later under limits is counted too.
//!
//! The memory cap uses mlua's allocator limit, switched on only while script code runs
//! (and while a script is compiled): mlua protects every allocating API call while a
//! limit is set, which made argument marshalling much slower when the cap stayed on all
//! the time. Allocations by the host outside a call (encoding arguments, decoding
//! results) are not counted against the cap; their size is the host's choice. Inside a
//! call, filling a lazy argument table lifts the cap too; the small tables that reading
//! a lazy argument field by field makes (its hidden table, a nested lazy table) count.

use std::cell::Cell;
use std::ffi::c_int;
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
    /// When the deadline passes.
    deadline: Option<Instant>,
    /// When the deadline was last checked (the call's start before the first check).
    last_check: Option<Instant>,
    tripped: Option<ErrorKind>,
    /// The thread the call runs on (the state's main thread), as an address.
    main: usize,
    /// The limits armed, for the error message.
    limits: Limits,
}

const IDLE: Frame = Frame {
    active: false,
    instructions_left: i64::MAX,
    deadline: None,
    last_check: None,
    tripped: None,
    main: 0,
    limits: Limits::none(),
};

thread_local! {
    static FRAME: Cell<Frame> = const { Cell::new(IDLE) };
    /// Whether a memory cap is armed on this thread (by `arm`).
    static MEMORY_ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a memory cap is armed on this thread: host code that allocates in Lua
/// during a call (filling lazy argument tables) lifts it only then.
pub(crate) fn memory_armed() -> bool {
    MEMORY_ARMED.with(Cell::get)
}

/// The message of a stop, as the hook raises it (`lua_pushfstring` formats).
fn raise_stop(state: *mut ffi::lua_State, kind: ErrorKind, limits: &Limits) -> c_int {
    // SAFETY: `state` is the running thread (see `stop`); the formats take exactly the
    // arguments given, with the C types `%I` (lua_Integer) and `%f` (lua_Number) expect.
    unsafe {
        match (kind, limits.instructions, limits.deadline) {
            (ErrorKind::Deadline, _, Some(d)) => ffi::luaL_error(
                state,
                c"the call ran past its deadline of %f s".as_ptr(),
                d.as_secs_f64(),
            ),
            (_, Some(n), _) => ffi::luaL_error(
                state,
                c"the call ran past its budget of %I instructions".as_ptr(),
                ffi::lua_Integer::try_from(n).unwrap_or(ffi::lua_Integer::MAX),
            ),
            _ => ffi::luaL_error(state, c"the call was stopped by a limit".as_ptr()),
        }
    }
}

/// [`raise_stop`]'s message, for a stop the script caught and returned anyway.
fn stop_message(kind: ErrorKind, limits: &Limits) -> String {
    match (kind, limits.instructions, limits.deadline) {
        (ErrorKind::Deadline, _, Some(d)) => {
            format!("the call ran past its deadline of {} s", d.as_secs_f64())
        }
        (_, Some(n), _) => format!("the call ran past its budget of {n} instructions"),
        _ => "the call was stopped by a limit".to_string(),
    }
}

/// Makes `state` (and the call's main thread) check on every instruction, then raises
/// the limit error on `state`.
///
/// A coroutine stopped here gets [`stopped_hook`] instead of [`limit_hook`], which marks
/// it: the error leaves the coroutine dead with Lua's `allowhook` flag still off (it is
/// restored only when a `pcall` catches the error, and a coroutine's own stack has none
/// left), so `__close` handlers run by closing it would run with no hook at all. The
/// guard refuses to close or resume a dead coroutine carrying the mark.
///
/// # Safety
/// `state` is a running Lua thread, and this is called from a hook or a C function on
/// it; `main`, when not 0, is the main thread of the same Lua state.
unsafe fn stop(state: *mut ffi::lua_State, main: usize, kind: ErrorKind) -> c_int {
    // SAFETY: per the function contract. `luaL_error` unwinds (longjmp) out of this
    // frame and its callers, none of which owns anything with a destructor.
    unsafe {
        let main = main as *mut ffi::lua_State;
        if !main.is_null() && main != state {
            ffi::lua_sethook(main, Some(limit_hook), ffi::LUA_MASKCOUNT, 1);
            ffi::lua_sethook(state, Some(stopped_hook), ffi::LUA_MASKCOUNT, 1);
        } else {
            ffi::lua_sethook(state, Some(limit_hook), ffi::LUA_MASKCOUNT, 1);
        }
        let limits = FRAME.try_with(|f| f.get().limits).unwrap_or(Limits::none());
        raise_stop(state, kind, &limits)
    }
}

/// The limit that tripped in the current call, with the call's main thread.
fn tripped_now() -> Option<(ErrorKind, usize)> {
    FRAME
        .try_with(|f| {
            let fr = f.get();
            if fr.active {
                fr.tripped.map(|k| (k, fr.main))
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// The count a freshly installed hook starts with when there is a deadline.
const FIRST_COUNT: c_int = 16;

/// The longest time between two deadline checks the hook aims for (see `limit_hook`).
const MAX_CHECK_INTERVAL: Duration = Duration::from_millis(1);
/// The shortest, for very short deadlines.
const MIN_CHECK_INTERVAL: Duration = Duration::from_micros(10);

/// The next hook count for a thread whose last `count` instructions took `elapsed`: the
/// deadline is checked about every `target` (see `limit_hook`).
fn adapt_count(count: i64, elapsed: Duration, target: Duration) -> i64 {
    if elapsed > target {
        let scaled = count as u128 * target.as_nanos() / elapsed.as_nanos().max(1);
        (scaled as i64).clamp(1, CHECK_EVERY)
    } else if elapsed * 4 < target && count < CHECK_EVERY {
        (count * 2).min(CHECK_EVERY)
    } else {
        count
    }
}

/// The count hook: charges the instructions run since the last check, checks the
/// deadline, and raises once either is past.
///
/// With a deadline, the interval between checks follows how long instructions take:
/// most are nanoseconds, but one can be a long C call (`string.rep` of megabytes, a
/// concatenation of a big string), and [`CHECK_EVERY`] of those would run for seconds
/// past the deadline. When an interval takes longer than the target (a sixteenth of the
/// deadline, between 10 µs and 1 ms), the thread's count shrinks in proportion, down to
/// every instruction; it doubles back while intervals are short. The count stays with
/// the state, so a script that is slow on every call is checked finely from its next
/// call on.
unsafe extern "C-unwind" fn limit_hook(state: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    // SAFETY: called by Lua on `state` with a valid state; nothing here owns a destructor
    // when `luaL_error` unwinds out of this frame.
    unsafe {
        let count = i64::from(ffi::lua_gethookcount(state));
        let mut new_count = count;
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
                    } else if let (Some(len), Some(deadline), Some(last)) =
                        (fr.limits.deadline, fr.deadline, fr.last_check)
                    {
                        let now = Instant::now();
                        if now >= deadline {
                            fr.tripped = Some(ErrorKind::Deadline);
                        } else {
                            let target = (len / 16).clamp(MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL);
                            new_count = adapt_count(count, now - last, target);
                            fr.last_check = Some(now);
                        }
                    }
                    f.set(fr);
                }
                fr.tripped.map(|k| (k, fr.main))
            })
            .ok()
            .flatten();
        if let Some((kind, main)) = tripped {
            // Fire on every instruction of this thread from now on, so `pcall` cannot
            // keep the script going.
            stop(state, main, kind);
        } else if new_count != count {
            ffi::lua_sethook(
                state,
                Some(limit_hook),
                ffi::LUA_MASKCOUNT,
                c_int::try_from(new_count).unwrap_or(1),
            );
            // `lua_sethook` walks the whole call stack, which takes a while in a deep
            // recursion: start the next interval after it, or its cost would make the
            // next interval look slow and shrink the count again, and again.
            let now = Instant::now();
            let _ = FRAME.try_with(|f| {
                let mut fr = f.get();
                fr.last_check = Some(now);
                f.set(fr);
            });
        }
    }
}

/// [`limit_hook`] under another address: the mark of a coroutine that a limit stopped.
unsafe extern "C-unwind" fn stopped_hook(state: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    // SAFETY: as `limit_hook`.
    unsafe { limit_hook(state, ar) }
}

fn is_stopped_hook(hook: Option<ffi::lua_Hook>) -> bool {
    hook.is_some_and(|h| h as usize == stopped_hook as ffi::lua_Hook as usize)
}

/// `stopped()`: whether a limit of the current call tripped. The sandbox's `xpcall`
/// asks before it runs the script's message handler: Lua runs message handlers of an
/// error raised from a hook with hooks off, so a handler that loops would never stop.
pub(crate) unsafe extern "C-unwind" fn limit_stopped(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function; pushing a boolean needs no allocation.
    unsafe {
        ffi::lua_pushboolean(state, c_int::from(tripped_now().is_some()));
    }
    1
}

/// `guard(co)`: called by the sandbox's `coroutine.resume`, `coroutine.wrap` and
/// `coroutine.close` before they run `co`. Raises the limit error if a limit of the
/// current call tripped, and an error if `co` is a coroutine a limit stopped (see
/// [`stop`]); otherwise gives `co` the calling thread's hook (see the module docs).
/// Registered with `Lua::create_c_function`.
pub(crate) unsafe extern "C-unwind" fn guard_thread(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function on `state`; `lua_tothread` returns null for a
    // non-thread argument. The hook calls only set fields of `co`, which is a live thread
    // (it is on our stack).
    unsafe {
        if let Some((kind, main)) = tripped_now() {
            return stop(state, main, kind);
        }
        let co = ffi::lua_tothread(state, 1);
        if !co.is_null() && co != state {
            if is_stopped_hook(ffi::lua_gethook(co)) && ffi::lua_status(co) > ffi::LUA_YIELD {
                return ffi::luaL_error(
                    state,
                    c"this coroutine was stopped by a limit; it cannot be resumed or closed"
                        .as_ptr(),
                );
            }
            let hook = ffi::lua_gethook(state);
            let mask = ffi::lua_gethookmask(state);
            let count = ffi::lua_gethookcount(state);
            let same = ffi::lua_gethook(co).map(|h| h as usize) == hook.map(|h| h as usize)
                && ffi::lua_gethookmask(co) == mask
                && ffi::lua_gethookcount(co) == count;
            // Only when different: setting a hook restarts its count, which a script
            // resuming a coroutine in a loop could otherwise use to never be counted.
            if !same {
                ffi::lua_sethook(co, hook, mask, count);
            }
        }
        0
    }
}

/// Limits armed for the duration of one script call. `finish` disarms them and says
/// whether one tripped.
pub(crate) struct Armed<'a> {
    lua: &'a Lua,
    /// The frame to restore; `None` when nothing was armed (no limits, no hook left).
    saved: Option<Frame>,
    hooked: bool,
    memory_set: bool,
}

/// Arms `limits` on `lua` for the current thread.
///
/// The count hook stays installed on the state's main thread from one call to the next
/// while calls have limits: installing and removing it costs two `lua_sethook` per call
/// (measured in `benches/limits.rs`). It is removed for a call without instruction or
/// time limits, since an installed hook sends every VM instruction through Lua's slow
/// path. Between calls only host code runs, and the hook does nothing while no call is
/// armed. So the budget is counted in steps of the hook's count (at most
/// [`CHECK_EVERY`]): a call may be charged up to that many instructions more or less
/// than it ran.
pub(crate) fn arm<'a>(lua: &'a Lua, limits: &Limits) -> Armed<'a> {
    // SAFETY: `lua.state()` is the main state of a live Lua.
    unsafe { arm_at(lua, lua.state(), limits) }
}

/// [`arm`] with `lua`'s main state at hand.
///
/// # Safety
/// `state` is the state `lua.state()` gives.
#[inline]
pub(crate) unsafe fn arm_at<'a>(
    lua: &'a Lua,
    state: *mut ffi::lua_State,
    limits: &Limits,
) -> Armed<'a> {
    if limits.instructions.is_none() && limits.deadline.is_none() && limits.memory.is_none() {
        // No limits: nothing to arm, unless a call with limits left its hook installed
        // (or this call is nested in an armed one).
        // SAFETY: reading the hook of a live state is always allowed.
        let hook_left = unsafe { ffi::lua_gethook(state) }.is_some();
        if !hook_left && !FRAME.with(|f| f.get().active) {
            return Armed {
                lua,
                saved: None,
                hooked: false,
                memory_set: false,
            };
        }
    }
    // SAFETY: the caller's contract.
    unsafe { arm_slow(lua, state, limits) }
}

/// [`arm_at`] when something is armed, out of line.
///
/// # Safety
/// As [`arm_at`].
#[inline(never)]
unsafe fn arm_slow<'a>(lua: &'a Lua, state: *mut ffi::lua_State, limits: &Limits) -> Armed<'a> {
    let saved = FRAME.with(|f| f.get());
    let hooked = limits.instructions.is_some() || limits.deadline.is_some();
    if hooked {
        let frame = Frame {
            active: true,
            instructions_left: limits
                .instructions
                .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            deadline: None,
            last_check: None,
            tripped: None,
            main: state as usize,
            limits: *limits,
        };
        let frame = match limits.deadline {
            Some(len) => {
                let now = Instant::now();
                Frame {
                    deadline: Some(now + len),
                    last_check: Some(now),
                    ..frame
                }
            }
            None => frame,
        };
        FRAME.with(|f| f.set(frame));
    } else {
        FRAME.with(|f| f.set(IDLE));
    }
    // SAFETY: `state` is the main state of a live Lua; hooks may be read and set at any
    // time.
    unsafe { install_hook(state, hooked, limits.deadline.is_some()) };
    let memory_set = match limits.memory {
        Some(cap) => {
            let set = lua.set_memory_limit(cap).is_ok();
            MEMORY_ARMED.with(|m| m.set(set));
            set
        }
        None => false,
    };

    Armed {
        lua,
        saved: Some(saved),
        hooked,
        memory_set,
    }
}

/// Installs (`on`) or removes the count hook on `state`, unless it is already so. With
/// `adaptive` (a deadline), a count that `limit_hook` shrank is kept.
///
/// # Safety
/// `state` is a live Lua thread.
unsafe fn install_hook(state: *mut ffi::lua_State, on: bool, adaptive: bool) {
    // SAFETY: per the function contract.
    unsafe {
        let current = ffi::lua_gethook(state);
        if on {
            let count = ffi::lua_gethookcount(state);
            let count_ok = if adaptive {
                (1..=CHECK_EVERY as c_int).contains(&count)
            } else {
                count == CHECK_EVERY as c_int
            };
            let installed = current
                .is_some_and(|h| h as usize == limit_hook as ffi::lua_Hook as usize)
                && ffi::lua_gethookmask(state) == ffi::LUA_MASKCOUNT
                && count_ok;
            if !installed {
                // With a deadline, a fresh hook starts with a short interval and lets
                // `limit_hook` grow it: a state's first calls are measured before they
                // are trusted with long intervals.
                let start = if adaptive {
                    FIRST_COUNT
                } else {
                    CHECK_EVERY as c_int
                };
                ffi::lua_sethook(state, Some(limit_hook), ffi::LUA_MASKCOUNT, start);
            }
        } else if current.is_some() {
            ffi::lua_sethook(state, None, 0, 0);
        }
    }
}

impl Armed<'_> {
    /// Disarms and returns the limit that tripped, if any.
    pub(crate) fn finish(self) -> Option<ErrorKind> {
        // Nothing armed: nothing can have tripped.
        self.saved?;
        let tripped = FRAME.with(|f| f.get().tripped);
        drop(self);
        tripped
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        let Some(saved) = self.saved else {
            return;
        };
        if self.memory_set {
            let _ = self.lua.set_memory_limit(0);
            MEMORY_ARMED.with(|m| m.set(false));
        }
        let state = self.lua.state();
        let frame = FRAME.with(|f| f.get());
        if self.hooked && frame.tripped.is_some() && frame.limits.deadline.is_none() {
            // A stop left the main thread's hook firing on every instruction: back to
            // the normal interval. (With a deadline the short interval stays, and grows
            // back while the next calls are quick: see `limit_hook`.)
            // SAFETY: as in `arm`.
            unsafe {
                ffi::lua_sethook(
                    state,
                    Some(limit_hook),
                    ffi::LUA_MASKCOUNT,
                    CHECK_EVERY as c_int,
                );
            }
        }
        if saved.active && !self.hooked {
            // Nested arming (not done today): put the outer call's hook back.
            // SAFETY: as in `arm`.
            unsafe { install_hook(state, true, saved.limits.deadline.is_some()) };
        }
        FRAME.with(|f| f.set(saved));
    }
}

/// The error of a call that a limit stopped but whose script caught the stop (in a
/// coroutine) and returned normally anyway: the call is failed all the same.
pub(crate) fn swallowed(kind: ErrorKind, limits: &Limits) -> mlua::Error {
    mlua::Error::RuntimeError(format!(
        "{} (the script caught the stop and returned anyway)",
        stop_message(kind, limits)
    ))
}

/// Fails `ret` if a limit of `limits` tripped during the call that produced it.
pub(crate) fn check_tripped<T>(
    ret: mlua::Result<T>,
    tripped: Option<ErrorKind>,
    limits: &Limits,
) -> mlua::Result<T> {
    match (ret, tripped) {
        (Ok(_), Some(kind)) => Err(swallowed(kind, limits)),
        (r, _) => r,
    }
}

/// Arms only the memory cap of `limits` (for compiling a script: the parser runs no
/// instructions, and a big file must not spend the deadline of its top level).
pub(crate) fn arm_memory<'a>(lua: &'a Lua, limits: &Limits) -> Armed<'a> {
    let only = Limits {
        memory: limits.memory,
        ..Limits::none()
    };
    arm(lua, &only)
}

/// After a memory error, collects garbage with the cap off. Returns whether the state
/// is usable again: it is not when, even after a full collection, it still holds more
/// than half of its cap (the script keeps what it grew in a global), since every later
/// call would fail too. Callers then throw the state away and build a fresh one.
#[must_use]
pub(crate) fn recover_memory(lua: &Lua, limits: &Limits) -> bool {
    let _ = lua.gc_collect();
    let _ = lua.gc_collect();
    match limits.memory {
        Some(cap) => lua.used_memory() <= cap / 2,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lua 5.4's `lua_newthread` copies the creating thread's hook: a coroutine created
    /// and resumed with the plain `coroutine` library (no sandbox, no guard) is counted.
    /// Were it not, this test would never end.
    #[test]
    fn coroutines_inherit_the_count_hook() {
        let lua = Lua::new();
        let f: mlua::Function = lua
            .load(
                "return function()
                   local co = coroutine.create(function() repeat until false end)
                   return coroutine.resume(co)
                 end",
            )
            .eval()
            .unwrap();
        let armed = arm(&lua, &Limits::none().instructions(10_000));
        let r = f.call::<mlua::MultiValue>(());
        let tripped = armed.finish();
        assert_eq!(tripped, Some(ErrorKind::InstructionLimit));
        // The coroutine's stop was caught by resume, and the main thread ran no further
        // instruction (a tail call): the call returned normally. `check_tripped` is what
        // fails such a call.
        let r = r.unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], mlua::Value::Boolean(false));
        let e = check_tripped(Ok(r), tripped, &Limits::none().instructions(10_000)).unwrap_err();
        assert!(
            e.to_string().contains("budget of 10000 instructions"),
            "{e}"
        );
        // Disarmed: the same function runs free of the hook's accounting again.
        let g: mlua::Function = lua.load("return function() return 1 end").eval().unwrap();
        assert_eq!(g.call::<i64>(()).unwrap(), 1);
    }

    #[test]
    fn the_memory_cap_is_off_outside_calls() {
        let lua = Lua::new();
        let armed = arm(&lua, &Limits::none().memory(lua.used_memory() + (64 << 10)));
        assert!(
            lua.load("local s = string.rep('x', 1 << 20)")
                .exec()
                .is_err()
        );
        drop(armed);
        lua.load("local s = string.rep('x', 1 << 20)")
            .exec()
            .unwrap();
    }
}
