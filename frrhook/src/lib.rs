//! # frrhook
//!
//! Typed hook points that call user Lua scripts, for routing daemons written in Rust:
//! FRR's `frrscript` rebuilt so that what can be checked at compile time is, what can
//! go wrong at run time is contained, and a hook costs one atomic load until a script
//! is attached.
//!
//! Two layers:
//! - [`Script`]: FRR's `frrscript_new / load / call / get_result` with FRR's semantics
//!   and typed errors instead of crashes.
//! - [`hook_point`] + [`Runtime`]: declare a hook once on a function signature; the
//!   operator attaches Lua functions to it, reloads them live and reads their stats.
#![warn(missing_docs)]

pub use frrhook_codec as codec;
pub use frrhook_codec::{DecodeError, LuaCodec, LuaDecode, LuaEncode, mlua};
pub use frrhook_macros::hook_point;

#[doc(hidden)]
pub mod __private;
mod call;
mod catalogue;
#[cfg(feature = "cli")]
pub mod cli;
mod descriptor;
mod dyn_call;
mod error;
mod lazy;
mod limits;
mod loader;
mod lua_error;
mod raw_call;
mod registry;
mod results;
mod runtime;
mod sandbox;
mod script;
mod shared;
mod stats;
mod tls;

pub use catalogue::{ArgInfo, HookInfo, ResultInfo};
pub use descriptor::{ArgDescriptor, ArgMode, ErrorPolicy, HookDescriptor, ResultDescriptor};
pub use dyn_call::{DynCallFn, DynError, DynOutcome};
pub use error::{ErrorKind, HookError};
pub use limits::Limits;
pub use registry::declared_hooks;
pub use results::ResultTables;
pub use runtime::{AttachSpec, Runtime, RuntimeBuilder};
pub use sandbox::{ExtraLib, Sandbox};
pub use script::{CallArg, MutArg, RefArg, Script, ValArg};
pub use shared::{SharedStore, SharedValue};
pub use stats::{AttachmentStats, HookStats, RunTime, Stats};
