//! Layer 1: `Script`, FRR's `frrscript` API with FRR's semantics and typed errors.

use std::collections::HashMap;
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlua::Table;

use crate::__private::ArgEncodeError;
use crate::codec::raw::RawCx;
use crate::codec::{DecodeError, LuaDecode, LuaEncode};
use crate::limits::Limits;
use crate::loader;
use crate::raw_call::{self, RegistryFn};
use crate::sandbox::{Sandbox, SandboxedLua};
use crate::shared::SharedStore;
use crate::{ErrorKind, HookError};

/// One argument of [`Script::call`], made by [`args!`](crate::args).
///
/// The passing mode is picked from the argument's form at compile time, like FRR's
/// `_Generic`: `name = &mut x` is encoded and written back, `name = &x` and
/// `name = x` are only encoded.
pub trait CallArg {
    /// The argument's name: the key a script returns to write it back.
    fn name(&self) -> &'static str;
    /// Pushes the current value onto the Lua stack (see [`LuaEncode::push_raw`]).
    fn push(&self, cx: &RawCx<'_>) -> mlua::Result<()>;
    /// Prepares the write-back from the returned table, at stack index `returned` of
    /// `cx` (only `&mut` arguments do anything).
    fn prepare(&mut self, cx: &RawCx<'_>, returned: c_int) -> Result<(), DecodeError>;
    /// Applies a prepared write-back.
    fn commit(&mut self);
    /// Drops a prepared write-back.
    fn discard(&mut self);
}

/// A `&mut T` argument: encoded, and decoded back in place when its name is returned.
pub struct MutArg<'a, T: LuaDecode> {
    name: &'static str,
    value: &'a mut T,
    pending: Option<T::Update>,
}

impl<'a, T: LuaEncode + LuaDecode> MutArg<'a, T> {
    /// Wraps `value` under `name`.
    pub fn new(name: &'static str, value: &'a mut T) -> Self {
        MutArg {
            name,
            value,
            pending: None,
        }
    }
}

impl<T: LuaEncode + LuaDecode> CallArg for MutArg<'_, T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn push(&self, cx: &RawCx<'_>) -> mlua::Result<()> {
        self.value.push_raw(cx)
    }
    fn prepare(&mut self, cx: &RawCx<'_>, returned: c_int) -> Result<(), DecodeError> {
        // Read on the stack, as a hook's write-back is: an unchanged value is no update.
        self.pending = crate::__private::prepare_named(&*self.value, cx, returned, self.name)?;
        Ok(())
    }
    fn commit(&mut self) {
        if let Some(u) = self.pending.take() {
            drop(self.value.apply_update(u));
        }
    }
    fn discard(&mut self) {
        self.pending = None;
    }
}

/// A `&T` argument: encoded only.
pub struct RefArg<'a, T: ?Sized> {
    name: &'static str,
    value: &'a T,
}

impl<'a, T: LuaEncode + ?Sized> RefArg<'a, T> {
    /// Wraps `value` under `name`.
    pub fn new(name: &'static str, value: &'a T) -> Self {
        RefArg { name, value }
    }
}

impl<T: LuaEncode + ?Sized> CallArg for RefArg<'_, T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn push(&self, cx: &RawCx<'_>) -> mlua::Result<()> {
        self.value.push_raw(cx)
    }
    fn prepare(&mut self, _: &RawCx<'_>, _: c_int) -> Result<(), DecodeError> {
        Ok(())
    }
    fn commit(&mut self) {}
    fn discard(&mut self) {}
}

/// A by-value argument: encoded only.
pub struct ValArg<T> {
    name: &'static str,
    value: T,
}

impl<T: LuaEncode> ValArg<T> {
    /// Wraps `value` under `name`.
    pub fn new(name: &'static str, value: T) -> Self {
        ValArg { name, value }
    }
}

impl<T: LuaEncode> CallArg for ValArg<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn push(&self, cx: &RawCx<'_>) -> mlua::Result<()> {
        self.value.push_raw(cx)
    }
    fn prepare(&mut self, _: &RawCx<'_>, _: c_int) -> Result<(), DecodeError> {
        Ok(())
    }
    fn commit(&mut self) {}
    fn discard(&mut self) {}
}

/// Builds the argument list of [`Script::call`]: `args!(a = &mut a, b = &b, c = 300)`.
///
/// `&mut x` is encoded and written back if the script returns key `a`; `&x` and plain
/// values are only encoded. The names are the keys; no other strings are involved.
///
/// ```
/// # use frrhook::args;
/// let (mut a, b) = (1i64, 2i64);
/// let list = args!(a = &mut a, b = &b, c = 3i64);
/// assert_eq!(list.len(), 3);
/// assert_eq!(list[2].name(), "c");
/// ```
#[macro_export]
macro_rules! args {
    (@munch [$($done:tt)*]) => {
        &mut [$($done)*] as &mut [&mut dyn $crate::CallArg]
    };
    (@munch [$($done:tt)*] $name:ident = &mut $e:expr $(, $($rest:tt)*)?) => {
        $crate::args!(@munch [$($done)* &mut $crate::MutArg::new(::core::stringify!($name), &mut $e) as &mut dyn $crate::CallArg,] $($($rest)*)?)
    };
    (@munch [$($done:tt)*] $name:ident = & $e:expr $(, $($rest:tt)*)?) => {
        $crate::args!(@munch [$($done)* &mut $crate::RefArg::new(::core::stringify!($name), &$e) as &mut dyn $crate::CallArg,] $($($rest)*)?)
    };
    (@munch [$($done:tt)*] $name:ident = $e:expr $(, $($rest:tt)*)?) => {
        $crate::args!(@munch [$($done)* &mut $crate::ValArg::new(::core::stringify!($name), $e) as &mut dyn $crate::CallArg,] $($($rest)*)?)
    };
    ($($t:tt)*) => {
        $crate::args!(@munch [] $($t)*)
    };
}

struct LoadedFunction {
    state: SandboxedLua,
    function: RegistryFn,
    line: Option<u32>,
    result: Option<Table>,
    /// The source it was loaded from, to start again after a memory error that left
    /// the state full (see `poisoned`).
    source: Arc<[u8]>,
    /// A memory error left the state holding more than half its cap even after a full
    /// collection: the next call loads the function again in a fresh state.
    poisoned: bool,
}

/// A Lua script file and the functions loaded from it: FRR's `struct frrscript`.
///
/// | FRR                             | frrhook                                  |
/// |---------------------------------|------------------------------------------|
/// | `frrscript_new("name")`         | [`Script::new("name")`](Script::new)      |
/// | `frrscript_load(fs, "f", NULL)` | [`script.load("f")`](Script::load)        |
/// | `frrscript_call(fs, "f", ...)`  | [`script.call("f", args!(...))`](Script::call) |
/// | `frrscript_get_result(...)`     | [`script.get_result::<T>("f", "key")`](Script::get_result) |
/// | `frrscript_delete(fs)`          | `drop(script)`                            |
///
/// As in FRR each loaded function has its own Lua state, so the globals a function's
/// script sets persist between calls of that function. Unlike FRR, scripts run in the
/// sandbox (see [`Sandbox`]) under [`Limits`], and every failure is a [`HookError`].
///
/// ```
/// use frrhook::{Script, args};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("demo.lua"), "function foo(a, b) return { a = a + 1, d = 800 } end").unwrap();
///
/// let mut script = Script::new("demo").with_dir(dir.path());
/// script.load("foo").unwrap();
/// let (mut a, b) = (100i64, 200i64);
/// script.call("foo", args!(a = &mut a, b = &b)).unwrap();
/// assert_eq!(a, 101);
/// assert_eq!(script.get_result::<i64>("foo", "d").unwrap(), Some(800));
/// ```
pub struct Script {
    name: String,
    dir: PathBuf,
    sandbox: Sandbox,
    limits: Limits,
    shared: SharedStore,
    functions: HashMap<String, LoadedFunction>,
}

impl Script {
    /// The default script directory, as FRR's `/etc/frr/scripts`.
    pub const DEFAULT_DIR: &'static str = "/etc/frrhook/scripts";

    /// A script named `name` (the file `NAME.lua`). Reads nothing: this cannot be used
    /// to test whether the script exists.
    pub fn new(name: impl Into<String>) -> Self {
        Script {
            name: name.into(),
            dir: PathBuf::from(Self::DEFAULT_DIR),
            sandbox: Sandbox::default(),
            limits: Limits::default(),
            shared: SharedStore::default(),
            functions: HashMap::new(),
        }
    }

    /// Looks for the file in `dir` instead of [`Script::DEFAULT_DIR`].
    #[must_use]
    pub fn with_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = dir.as_ref().to_path_buf();
        self
    }

    /// Uses `limits` for loading and calling.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Uses `sandbox` for the functions loaded from now on.
    #[must_use]
    pub fn with_sandbox(mut self, sandbox: Sandbox) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Gives the script's functions `store` as `shared`.
    #[must_use]
    pub fn with_shared(mut self, store: SharedStore) -> Self {
        self.shared = store;
        self
    }

    /// The script's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads and compiles the script file and makes `function` callable
    /// (`frrscript_load`). Fails for a missing file, a syntax error (with its line), an
    /// error in the script's top level, or a missing function. Loading again reloads.
    pub fn load(&mut self, function: &str) -> Result<(), HookError> {
        let source = loader::read_source(&self.dir, &self.name)?;
        let lf = self.instantiate(function, source)?;
        self.functions.insert(function.to_string(), lf);
        Ok(())
    }

    fn instantiate(&self, function: &str, source: Arc<[u8]>) -> Result<LoadedFunction, HookError> {
        let state = SandboxedLua::new(&self.sandbox).map_err(|e| {
            HookError::new(ErrorKind::Runtime, format!("cannot create Lua state: {e}"))
        })?;
        let env = loader::instantiate(&state, &self.name, &source, &self.shared, &self.limits)?;
        let f = loader::get_function(&env, &self.name, function)?;
        let line = loader::line_defined(&f);
        let f = RegistryFn::new(&state.lua, &f)?;
        Ok(LoadedFunction {
            state,
            function: f,
            line,
            result: None,
            source,
            poisoned: false,
        })
    }

    /// Whether `function` is loaded.
    pub fn is_loaded(&self, function: &str) -> bool {
        self.functions.contains_key(function)
    }

    /// Calls a loaded function (`frrscript_call`).
    ///
    /// Arguments are encoded in order and passed positionally. The function must return
    /// exactly one table. Then every `&mut` argument whose name is a key of that table
    /// is decoded back in place: all are decoded first and only then applied, so a
    /// failed call modifies no argument, even when the failure is the last write-back.
    pub fn call(&mut self, function: &str, args: &mut [&mut dyn CallArg]) -> Result<(), HookError> {
        let name = self.name.clone();
        let limits = self.limits;
        if self.functions.get(function).is_some_and(|f| f.poisoned) {
            // Start again from the same source, as FRR would after a reload.
            let source = self.functions[function].source.clone();
            match self.instantiate(function, source) {
                Ok(lf) => {
                    self.functions.insert(function.to_string(), lf);
                }
                Err(e) => {
                    self.functions.remove(function);
                    return Err(e);
                }
            }
        }
        let lf = self.functions.get_mut(function).ok_or_else(|| {
            HookError::new(
                ErrorKind::MissingFunction,
                format!("function `{function}` was not loaded; call load(\"{function}\") first"),
            )
            .with_script(name.as_str())
            .with_function(function)
        })?;
        lf.result = None;
        let (table, prepared) = raw_call::call_checked(
            &lf.state.lua,
            None,
            &lf.function,
            &mut PushArgs(&mut *args),
            &limits,
            &name,
            lf.line,
            true,
        )
        .map_err(|f| {
            lf.poisoned |= f.poisoned;
            f.error.with_function(function)
        })?;
        // Kept: `keep` is true.
        let table = table.ok_or_else(|| {
            HookError::new(ErrorKind::NotATable, "the returned table was not kept")
                .with_script(name.as_str())
                .with_function(function)
        })?;
        if let Err(e) = prepared {
            // `read` discarded every prepared write-back.
            return Err(HookError::from_decode(e)
                .with_script(name.as_str())
                .with_function(function)
                .or_line(lf.line));
        }
        for a in args.iter_mut() {
            a.commit();
        }
        lf.result = Some(table);
        Ok(())
    }

    /// Reads key `key` of the table the last call of `function` returned, decoded as `T`
    /// (`frrscript_get_result`). `Ok(None)` when the key is absent, or the function was
    /// never loaded or called, or its last call failed; an error when the value has the
    /// wrong shape.
    pub fn get_result<T: LuaDecode>(
        &self,
        function: &str,
        key: &str,
    ) -> Result<Option<T>, HookError> {
        let Some(table) = self.functions.get(function).and_then(|f| f.result.as_ref()) else {
            return Ok(None);
        };
        crate::results::read_key(table, key).map_err(|e| {
            HookError::from_decode(e)
                .with_script(self.name.as_str())
                .with_function(function)
        })
    }
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut loaded: Vec<_> = self.functions.keys().collect();
        loaded.sort();
        f.debug_struct("Script")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("loaded", &loaded)
            .finish()
    }
}

/// The arguments of a [`Script::call`], pushed in order; the write-back of each `&mut`
/// argument is prepared from the returned table while it is on the stack (all of them,
/// or none: a failure discards those already prepared).
struct PushArgs<'a, 'b>(&'a mut [&'b mut dyn CallArg]);

impl raw_call::Exchange for PushArgs<'_, '_> {
    type Out = Result<(), DecodeError>;
    fn push(&mut self, cx: &RawCx<'_>) -> Result<i32, ArgEncodeError> {
        for a in self.0.iter() {
            a.push(cx).map_err(|error| ArgEncodeError {
                arg: a.name(),
                error,
            })?;
        }
        Ok(i32::try_from(self.0.len()).unwrap_or(i32::MAX))
    }
    fn read(&mut self, cx: &RawCx<'_>, idx: c_int) -> Self::Out {
        for i in 0..self.0.len() {
            if let Err(e) = self.0[i].prepare(cx, idx) {
                for a in self.0.iter_mut() {
                    a.discard();
                }
                return Err(e);
            }
        }
        Ok(())
    }
}
