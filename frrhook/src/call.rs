//! The call path of a hook with something attached.

use std::time::Instant;

use std::ffi::c_int;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::__private::{ArgEncodeError, HookArgs};
use crate::codec::raw::RawCx;
use crate::raw_call;
use crate::results::{OneOrMany, ResultTables};
use crate::tls::{self, Chain, Entry, ThreadState};
use crate::{ErrorPolicy, HookError, Runtime};

pub(crate) fn call<A: HookArgs>(rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
    call_with(rt, args, A::descriptor().on_error, A::KEEPS_TABLES)
}

/// [`call`] with `policy` instead of the hook's error policy, keeping the returned tables
/// if `keep` (the dynamic entry of `crate::dyn_call` reports errors and every returned
/// key whatever the hook declares).
pub(crate) fn call_with<A: HookArgs>(
    rt: &Runtime,
    args: &mut A,
    policy: ErrorPolicy,
    keep: bool,
) -> Result<A::Results, HookError> {
    let hook = A::descriptor();
    let Some(slot) = hook.slot_if_assigned() else {
        return Ok(A::default_results());
    };
    let ts = match tls::state_for(rt) {
        Ok(ts) => ts,
        Err(e) => return fail::<A>(policy, e.with_hook(hook.name)),
    };
    let Some(chain) = ts.chains.get(slot).and_then(Option::as_ref) else {
        return Ok(A::default_results());
    };
    let start = ts.timing.then(Instant::now);
    let outcome = run_chain(&ts, chain, args, keep);
    let elapsed = start.map(|s| s.elapsed());
    if outcome.is_err() && ts.poisoned.get() {
        // A script filled the state's memory cap with data it keeps: replace this
        // thread's state (all scripts start again from their top level) at the next call.
        tls::discard(rt, &ts);
    }
    chain
        .stats
        .record(outcome.as_ref().err().map(HookError::kind), elapsed);
    match outcome {
        Ok(r) => Ok(r),
        Err(e) => fail::<A>(policy, e),
    }
}

fn fail<A: HookArgs>(policy: ErrorPolicy, e: HookError) -> Result<A::Results, HookError> {
    match policy {
        ErrorPolicy::FailClosed => Err(e),
        ErrorPolicy::Defaults => {
            let pace = &A::descriptor().warnings;
            if let Some(suppressed) = pace.admit(Instant::now()) {
                tracing::warn!(
                    target: "frrhook::call",
                    error = %e,
                    suppressed,
                    "hook failed; using default results"
                );
            }
            Ok(A::default_results())
        }
    }
}

/// At most one warning per second for a fail-open hook: a script failing on every route
/// of a 500,000-route table would otherwise write 500,000 lines. The first failure is
/// logged at once; each later line says how many failures it stands for since the
/// previous line (`suppressed`). Every failure is counted in the stats regardless.
#[derive(Debug)]
pub(crate) struct WarnPace {
    /// Nanoseconds since [`epoch`] of the last logged warning, plus one (0: never).
    last: AtomicU64,
    /// Failures not logged since then.
    suppressed: AtomicU64,
}

/// The interval between two warnings of one hook.
const WARN_EVERY: Duration = Duration::from_secs(1);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl WarnPace {
    pub(crate) const fn new() -> Self {
        WarnPace {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether to log a failure at `now`: `Some(n)`, the failures not logged since the
    /// previous warning, or `None` to count this one silently.
    pub(crate) fn admit(&self, now: Instant) -> Option<u64> {
        let at = u64::try_from(now.saturating_duration_since(epoch()).as_nanos())
            .unwrap_or(u64::MAX - 1)
            + 1;
        let last = self.last.load(Relaxed);
        let due = last == 0 || at.saturating_sub(last) >= WARN_EVERY.as_nanos() as u64;
        if due
            && self
                .last
                .compare_exchange(last, at, Relaxed, Relaxed)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Relaxed))
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            None
        }
    }
}

fn run_chain<A: HookArgs>(
    ts: &ThreadState,
    chain: &Chain,
    args: &mut A,
    keep: bool,
) -> Result<A::Results, HookError> {
    let mut tables = ResultTables::default();
    let mut partial = A::partial();
    let mut undos: OneOrMany<A::Undo> = OneOrMany::default();
    for entry in &chain.entries {
        let start = ts.timing.then(Instant::now);
        let r = run_one(ts, chain, entry, args, &mut partial, keep);
        entry.stats.record(
            r.as_ref().err().map(HookError::kind),
            start.map(|s| s.elapsed()),
        );
        match r {
            Ok((table, undo)) => {
                if let Some(t) = table {
                    tables.push(t);
                }
                undos.push(undo);
            }
            Err(e) => {
                while let Some(u) = undos.pop() {
                    args.undo(u);
                }
                return Err(e);
            }
        }
    }
    Ok(A::results(partial, tables))
}

/// The exchange of one hook call: the arguments pushed, then, on the returned table,
/// the write-back and the declared results.
struct HookExchange<'a, A: HookArgs> {
    args: &'a mut A,
    partial: &'a mut A::Partial,
    /// Where `&T` arguments become lazy tables; `None` for a hook without `&T`
    /// parameters (see [`HookArgs::LAZY`]).
    lazy: Option<&'a crate::lazy::LazyArgs>,
}

impl<A: HookArgs> raw_call::Exchange for HookExchange<'_, A> {
    type Out = Result<A::Undo, crate::codec::DecodeError>;

    #[inline]
    fn push(&mut self, cx: &RawCx<'_>) -> Result<i32, ArgEncodeError> {
        match self.lazy {
            Some(l) => self
                .args
                .push_args(cx, Some(&crate::__private::Lazy::new(l))),
            None => self.args.push_args(cx, None),
        }
    }

    #[inline]
    fn read(&mut self, cx: &RawCx<'_>, idx: c_int) -> Self::Out {
        let undo = self.args.write_back(cx, idx)?;
        match A::read_results(self.partial, cx, idx) {
            Ok(()) => Ok(undo),
            Err(e) => {
                self.args.undo(undo);
                Err(e)
            }
        }
    }
}

fn run_one<A: HookArgs>(
    ts: &ThreadState,
    chain: &Chain,
    entry: &Entry,
    args: &mut A,
    partial: &mut A::Partial,
    keep: bool,
) -> Result<(Option<mlua::Table>, A::Undo), HookError> {
    let locate = |e: HookError| {
        e.with_hook(chain.hook.name)
            .with_script(entry.script.clone())
            .with_function(entry.function.clone())
    };
    let func = entry
        .func
        .as_ref()
        .map_err(|e| e.clone().with_hook(chain.hook.name))?;
    let lazy = ts.state.lazy();
    // The call ends lazy tables, and fills one returned as the result table, whenever
    // one may exist: made by this call (`A::LAZY`) or kept from an earlier call of
    // another hook, which this script may return or touch. Only with neither does the
    // call skip that bookkeeping.
    let ending = (A::LAZY || lazy.any()).then_some(lazy);
    let (table, read) = raw_call::call_checked(
        &ts.state.lua,
        ending,
        func,
        &mut HookExchange {
            args,
            partial,
            lazy: A::LAZY.then_some(lazy),
        },
        &chain.limits,
        &entry.script,
        entry.line,
        keep,
    )
    .map_err(|f| {
        if f.poisoned {
            ts.poisoned.set(true);
        }
        locate(f.error)
    })?;
    let undo = read.map_err(|e| locate(HookError::from_decode(e)).or_line(entry.line))?;
    Ok((table, undo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_paced_to_one_per_second_with_the_count_of_the_rest() {
        let pace = WarnPace::new();
        let t0 = epoch() + Duration::from_secs(10);
        assert_eq!(pace.admit(t0), Some(0), "the first failure is logged");
        for i in 1..=999 {
            assert_eq!(pace.admit(t0 + Duration::from_millis(i)), None);
        }
        // One second later: one line standing for the 999 failures in between.
        assert_eq!(pace.admit(t0 + Duration::from_millis(1000)), Some(999));
        assert_eq!(pace.admit(t0 + Duration::from_millis(1001)), None);
        assert_eq!(pace.admit(t0 + Duration::from_secs(5)), Some(1));
    }
}
