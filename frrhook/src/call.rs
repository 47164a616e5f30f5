//! The call path of a hook with something attached.

use std::time::Instant;

use crate::__private::HookArgs;
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
    let mut undos: OneOrMany<A::Undo> = OneOrMany::default();
    for entry in &chain.entries {
        let start = ts.timing.then(Instant::now);
        let r = run_one(ts, chain, entry, args);
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
    match A::results(tables) {
        Ok(r) => Ok(r),
        Err(e) => {
            while let Some(u) = undos.pop() {
                args.undo(u);
            }
            let last = chain.entries.last();
            let mut err = HookError::from_decode(e).with_hook(chain.hook.name);
            if let Some(l) = last {
                err = err
                    .with_script(l.script.clone())
                    .with_function(l.function.clone())
                    .or_line(l.line);
            }
            Err(err)
        }
    }
}

fn run_one<A: HookArgs>(
    ts: &ThreadState,
    chain: &Chain,
    entry: &Entry,
    args: &mut A,
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
    let table = raw_call::call_checked(
        &ts.state.lua,
        Some(&*ts.state.lazy),
        func,
        |cx| args.push_args(cx),
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
    let undo = args
        .write_back(&table)
        .map_err(|e| locate(HookError::from_decode(e)).or_line(entry.line))?;
    Ok((table, undo))
}
