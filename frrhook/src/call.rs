//! The call path of a hook with something attached.

use std::time::Instant;

use std::ffi::c_int;

use crate::__private::{ArgEncodeError, HookArgs};
use crate::codec::raw::RawCx;
use crate::raw_call;
use crate::results::{OneOrMany, ResultTables};
use crate::tls::{self, Chain, Entry, ThreadState};
use crate::{ErrorPolicy, HookError, Runtime};

pub(crate) fn call<A: HookArgs>(rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
    call_with(rt, args, A::descriptor().on_error)
}

/// [`call`] with `policy` instead of the hook's error policy (the dynamic entry of
/// `crate::dyn_call` reports errors whatever the hook declares).
pub(crate) fn call_with<A: HookArgs>(
    rt: &Runtime,
    args: &mut A,
    policy: ErrorPolicy,
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
    let outcome = run_chain(&ts, chain, args);
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
            tracing::warn!(target: "frrhook::call", error = %e, "hook failed; using default results");
            Ok(A::default_results())
        }
    }
}

fn run_chain<A: HookArgs>(
    ts: &ThreadState,
    chain: &Chain,
    args: &mut A,
) -> Result<A::Results, HookError> {
    let mut tables = ResultTables::default();
    let mut partial = A::partial();
    let mut undos: OneOrMany<A::Undo> = OneOrMany::default();
    for entry in &chain.entries {
        let start = ts.timing.then(Instant::now);
        let r = run_one(ts, chain, entry, args, &mut partial);
        entry.stats.record(
            r.as_ref().err().map(HookError::kind),
            start.map(|s| s.elapsed()),
        );
        match r {
            Ok((table, undo)) => {
                tables.push(table);
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
}

impl<A: HookArgs> raw_call::Exchange for HookExchange<'_, A> {
    type Out = Result<A::Undo, crate::codec::DecodeError>;

    #[inline]
    fn push(&mut self, cx: &RawCx<'_>) -> Result<i32, ArgEncodeError> {
        self.args.push_args(cx)
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
) -> Result<(mlua::Table, A::Undo), HookError> {
    let locate = |e: HookError| {
        e.with_hook(chain.hook.name)
            .with_script(entry.script.clone())
            .with_function(entry.function.clone())
    };
    let func = entry
        .func
        .as_ref()
        .map_err(|e| e.clone().with_hook(chain.hook.name))?;
    let (table, read) = raw_call::call_checked(
        &ts.state.lua,
        Some(&*ts.state.lazy),
        func,
        &mut HookExchange { args, partial },
        &chain.limits,
        &entry.script,
        entry.line,
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
