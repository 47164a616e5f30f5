//! Per-thread Lua states, one per runtime the thread calls into.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use crate::limits::Limits;
use crate::loader;
use crate::runtime::{Inner, Snapshot};
use crate::sandbox::SandboxedLua;
use crate::stats::Counters;
use crate::{ErrorKind, HookDescriptor, HookError, Runtime};

/// One attached function, resolved in this thread's state.
pub(crate) struct Entry {
    pub(crate) script: Arc<str>,
    pub(crate) function: Arc<str>,
    /// The function (kept in the state's registry), or why this thread could not load it.
    pub(crate) func: Result<crate::raw_call::RegistryFn, HookError>,
    pub(crate) line: Option<u32>,
    pub(crate) stats: Arc<Counters>,
}

/// A hook's chain in this thread's state.
pub(crate) struct Chain {
    pub(crate) hook: &'static HookDescriptor,
    pub(crate) stats: Arc<Counters>,
    pub(crate) limits: Limits,
    pub(crate) entries: Vec<Entry>,
}

/// A thread's Lua state for one runtime generation.
pub(crate) struct ThreadState {
    pub(crate) generation: u64,
    pub(crate) state: SandboxedLua,
    pub(crate) chains: Vec<Option<Chain>>,
    pub(crate) timing: bool,
    /// Set when a memory error left the state too full to be useful (see
    /// `limits::recover_memory`); the call then discards it.
    pub(crate) poisoned: Cell<bool>,
}

struct Slot {
    runtime: Weak<Inner>,
    id: u64,
    state: Rc<ThreadState>,
}

thread_local! {
    static STATES: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

fn thread_error(msg: &str) -> HookError {
    HookError::new(ErrorKind::Runtime, msg.to_string())
}

/// This thread's state for `rt`, rebuilt if the runtime's generation moved.
#[inline]
pub(crate) fn state_for(rt: &Runtime) -> Result<Rc<ThreadState>, HookError> {
    let id = rt.inner.id;
    let generation = rt.inner.generation.load(Ordering::Acquire);
    let cached = STATES
        .try_with(|cell| {
            let slots = cell.try_borrow().ok()?;
            slots
                .iter()
                .find(|s| s.id == id && s.state.generation == generation)
                .map(|s| s.state.clone())
        })
        .map_err(|_| thread_error("hook called while the thread is shutting down"))?;
    match cached {
        Some(s) => Ok(s),
        None => rebuild(rt),
    }
}

/// Forgets this thread's state `ts` for `rt`, so that the next call builds a new one.
#[cold]
pub(crate) fn discard(rt: &Runtime, ts: &Rc<ThreadState>) {
    let _ = STATES.try_with(|cell| {
        if let Ok(mut slots) = cell.try_borrow_mut() {
            slots.retain(|s| !(s.id == rt.inner.id && Rc::ptr_eq(&s.state, ts)));
        }
    });
}

#[cold]
fn rebuild(rt: &Runtime) -> Result<Rc<ThreadState>, HookError> {
    let snapshot = rt.inner.snapshot.load_full();
    let state = Rc::new(build(rt, &snapshot)?);
    STATES
        .try_with(|cell| {
            let mut slots = cell
                .try_borrow_mut()
                .map_err(|_| thread_error("re-entrant hook call while states are updated"))?;
            slots.retain(|s| s.runtime.strong_count() > 0 && s.id != rt.inner.id);
            slots.push(Slot {
                runtime: Arc::downgrade(&rt.inner),
                id: rt.inner.id,
                state: state.clone(),
            });
            Ok(())
        })
        .map_err(|_| thread_error("hook called while the thread is shutting down"))??;
    Ok(state)
}

fn build(rt: &Runtime, snapshot: &Snapshot) -> Result<ThreadState, HookError> {
    let config = &rt.inner.config;
    let state = SandboxedLua::new(&config.sandbox)
        .map_err(|e| HookError::new(ErrorKind::Runtime, format!("cannot create Lua state: {e}")))?;
    let mut envs = Vec::with_capacity(snapshot.scripts.len());
    for s in &snapshot.scripts {
        let env = loader::instantiate(&state, &s.name, &s.source, &rt.inner.shared, &config.limits);
        envs.push((s.name.clone(), env));
    }
    let chains = snapshot
        .chains
        .iter()
        .map(|c| {
            c.as_ref().map(|spec| Chain {
                hook: spec.hook,
                stats: spec.stats.clone(),
                limits: spec.limits,
                entries: spec
                    .attachments
                    .iter()
                    .map(|a| {
                        let func = match envs.iter().find(|(n, _)| *n == a.script) {
                            Some((_, Ok(env))) => loader::get_function(env, &a.script, &a.function),
                            Some((_, Err(e))) => Err(e.clone()),
                            None => Err(HookError::new(
                                ErrorKind::Config,
                                format!("script {}.lua is not compiled", a.script),
                            )),
                        };
                        let line = func.as_ref().ok().and_then(loader::line_defined);
                        let func =
                            func.and_then(|f| crate::raw_call::RegistryFn::new(&state.lua, &f));
                        Entry {
                            script: a.script.clone(),
                            function: a.function.clone(),
                            func,
                            line,
                            stats: a.stats.clone(),
                        }
                    })
                    .collect(),
            })
        })
        .collect();
    Ok(ThreadState {
        generation: snapshot.generation,
        state,
        chains,
        timing: config.timing,
        poisoned: Cell::new(false),
    })
}
