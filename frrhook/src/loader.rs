//! Reading, compiling and instantiating script files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Table, Value};

use crate::limits::{self, Limits};
use crate::lua_error::{chunk_name, convert};
use crate::sandbox::SandboxedLua;
use crate::shared::SharedStore;
use crate::{ErrorKind, HookError};

/// Script names are file stems: letters, digits, `_`, `-` and `.`, not starting with `.`.
pub(crate) fn check_name(name: &str) -> Result<(), HookError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(HookError::new(
            ErrorKind::Config,
            format!(
                "invalid script name {name:?}: use letters, digits, '_', '-' and '.' (the file is NAME.lua)"
            ),
        ))
    }
}

/// The path of script `name` in `dir`.
pub(crate) fn script_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.lua"))
}

/// Reads script `name` from `dir`.
pub(crate) fn read_source(dir: &Path, name: &str) -> Result<Arc<[u8]>, HookError> {
    check_name(name)?;
    let path = script_path(dir, name);
    std::fs::read(&path).map(Arc::from).map_err(|e| {
        HookError::new(
            ErrorKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
        .with_script(name)
    })
}

/// Compiles `source` as script `name` in a fresh environment of `sl` and runs its top
/// level under `limits`. Returns the environment, where the script's functions are.
pub(crate) fn instantiate(
    sl: &SandboxedLua,
    name: &str,
    source: &[u8],
    shared: &SharedStore,
    limits: &Limits,
) -> Result<Table, HookError> {
    let lua = &sl.lua;
    let env = sl.make_env(name, shared).map_err(|e| {
        HookError::new(
            ErrorKind::Runtime,
            format!("cannot build script environment: {e}"),
        )
    })?;
    // The parser runs under the memory cap too (a huge file is a memory error, not an
    // unbounded allocation), but not under the instruction budget or deadline.
    let armed = limits::arm_memory(lua, limits);
    let chunk = lua
        .load(source)
        .set_name(format!("={}", chunk_name(name)))
        .set_mode(ChunkMode::Text)
        .set_environment(env.clone())
        .into_function();
    drop(armed);
    let chunk = match chunk {
        Ok(c) => c,
        Err(e) => {
            let err = convert(&e, name, None);
            if err.kind() == ErrorKind::Memory {
                let _ = limits::recover_memory(lua, limits);
            }
            return Err(err);
        }
    };
    let armed = limits::arm(lua, limits);
    let r = chunk.call::<()>(());
    let tripped = armed.finish();
    match limits::check_tripped(r, tripped, limits) {
        Ok(()) => Ok(env),
        Err(e) => {
            let err = convert(&e, name, tripped);
            if err.kind() == ErrorKind::Memory {
                // The failed script's environment is garbage now: collect it. A state
                // that stays too full fails its next call and is replaced then.
                let _ = limits::recover_memory(lua, limits);
            }
            Err(err.with_function("(top level)"))
        }
    }
}

/// Looks up function `function` in a script environment.
pub(crate) fn get_function(
    env: &Table,
    script: &str,
    function: &str,
) -> Result<Function, HookError> {
    match env.raw_get::<Value>(function) {
        Ok(Value::Function(f)) => Ok(f),
        Ok(Value::Nil) | Err(_) => Err(HookError::new(
            ErrorKind::MissingFunction,
            format!(
                "function `{function}` is not defined in {}",
                chunk_name(script)
            ),
        )
        .with_script(script)
        .with_function(function)),
        Ok(other) => Err(HookError::new(
            ErrorKind::MissingFunction,
            format!(
                "`{function}` in {} is a {}, not a function",
                chunk_name(script),
                crate::codec::type_name(&other)
            ),
        )
        .with_script(script)
        .with_function(function)),
    }
}

/// The line where `f` is defined, for errors that happen after it returned.
pub(crate) fn line_defined(f: &Function) -> Option<u32> {
    f.info()
        .line_defined
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l > 0)
}
