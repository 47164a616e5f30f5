//! The type-erased entry of a hook: call it with Lua values instead of Rust values.
//!
//! `#[hook_point]` generates, beside the typed call, a function that decodes each argument
//! from a Lua value into its owned Rust type, calls the typed hook, and encodes the
//! written-back arguments and the declared results back into Lua values. Tools that do
//! not know a hook's Rust types use it through [`HookDescriptor::call_dyn`]: the CLI's
//! fixture runner (`run`) and its shadow runner. The typed call path does not use it, and
//! it uses no serde.
//!
//! Unlike the typed call, a dynamic call always reports a script error, even for a hook
//! declared `on_error = defaults`: whoever calls a hook by hand wants to see why it failed.
//!
//! [`HookDescriptor::call_dyn`]: crate::HookDescriptor::call_dyn

use std::fmt;

use mlua::{Lua, Table, Value};

use crate::__private::{HookArgs, Probe};
use crate::codec::{DecodeError, LuaDecode, LuaEncode, MAX_DEPTH};
use crate::{HookDescriptor, HookError, ResultTables, Runtime};

/// The signature of a hook's type-erased entry: the runtime, the state in which the
/// argument values live (and in which the outcome's values are made), and one value per
/// declared argument, in order, constants excluded.
pub type DynCallFn = fn(&Runtime, &Lua, &[Value]) -> Result<DynOutcome, DynError>;

/// What a dynamic call produced. Every value lives in the state passed to the call.
#[derive(Debug, Clone, Default)]
pub struct DynOutcome {
    /// The declared results, in declaration order (`nil` for an absent `Option` result).
    /// Empty when the call failed.
    pub results: Vec<(&'static str, Value)>,
    /// Every `&mut` argument after the call, in order (unchanged when the call failed or
    /// the script did not return its key).
    pub written_back: Vec<(&'static str, Value)>,
    /// Returned keys that are neither declared results nor arguments, sorted by key (the
    /// last function of a chain that returned a key wins).
    pub other: Vec<(String, Value)>,
    /// Why the call failed, if it did.
    pub error: Option<HookError>,
}

/// Why a dynamic call could not run the hook.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DynError {
    /// The number of values is not the number of declared arguments.
    Arity {
        /// Declared arguments (constants excluded).
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A value does not decode as its argument's type; the error's path starts with the
    /// argument's name (`attributes.metric: expected integer, got string ("a")`).
    Decode(DecodeError),
    /// The argument's type has no `LuaDecode`, so it cannot be built from a value.
    Unbuildable {
        /// The argument.
        arg: &'static str,
        /// Its Rust type as declared.
        rust_type: &'static str,
    },
    /// A written-back argument or a result could not be turned back into a Lua value.
    Encode {
        /// The argument or result.
        name: String,
        /// Why.
        message: String,
    },
    /// The descriptor has no dynamic entry (it was not made by `#[hook_point]`).
    Unsupported {
        /// The hook.
        hook: &'static str,
    },
}

impl fmt::Display for DynError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DynError::Arity { expected, got } => {
                write!(f, "the hook takes {expected} arguments, {got} given")
            }
            DynError::Decode(e) => write!(f, "argument {e}"),
            DynError::Unbuildable { arg, rust_type } => write!(
                f,
                "argument `{arg}` of type `{rust_type}` cannot be built from a fixture: its type \
                 does not implement `LuaDecode`"
            ),
            DynError::Encode { name, message } => {
                write!(f, "`{name}` cannot be shown as a Lua value: {message}")
            }
            DynError::Unsupported { hook } => write!(
                f,
                "hook `{hook}` has no dynamic entry (its descriptor was not made by #[hook_point])"
            ),
        }
    }
}

impl std::error::Error for DynError {}

impl DynOutcome {
    /// The value of declared result `name`.
    pub fn result(&self, name: &str) -> Option<&Value> {
        self.results
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The value of `&mut` argument `name` after the call.
    pub fn written_back(&self, name: &str) -> Option<&Value> {
        self.written_back
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

// ---------------------------------------------------------------------------------------
// Support for the generated entry (reached through `__private`).
// ---------------------------------------------------------------------------------------

/// Checks the number of values.
#[doc(hidden)]
pub fn dyn_arity(values: &[Value], expected: usize) -> Result<(), DynError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(DynError::Arity {
            expected,
            got: values.len(),
        })
    }
}

/// Runs `A`'s chain and reports an error whatever the hook's error policy.
#[doc(hidden)]
pub fn call_fail_closed<A: HookArgs>(rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
    crate::call::call_with(rt, args, crate::ErrorPolicy::FailClosed, true)
}

/// The probe for the type of `value` (type inference instead of a written type).
#[doc(hidden)]
pub fn probe_of<T>(_: &T) -> Probe<T> {
    Probe::new()
}

/// An argument decoded from a value: borrowed as `&T` / `&mut T` or moved as `T`.
#[doc(hidden)]
pub struct Owned<T>(T);
/// A `&str` argument decoded from a value.
#[doc(hidden)]
pub struct OwnedStr(String);
/// A `&[T]` argument decoded from a value.
#[doc(hidden)]
pub struct OwnedSlice<T>(Vec<T>);
/// The holder of an argument that cannot be built; no value of it exists.
#[doc(hidden)]
pub enum Unbuildable {}

/// Lends the decoded argument as `&T`.
#[doc(hidden)]
pub trait HolderRef<T: ?Sized> {
    /// The argument.
    fn holder_ref(&self) -> &T;
}
/// Lends the decoded argument as `&mut T`.
#[doc(hidden)]
pub trait HolderMut<T: ?Sized> {
    /// The argument.
    fn holder_mut(&mut self) -> &mut T;
}
/// Gives the decoded argument away.
#[doc(hidden)]
pub trait HolderTake<T> {
    /// The argument.
    fn holder_take(self) -> T;
}

impl<T> HolderRef<T> for Owned<T> {
    fn holder_ref(&self) -> &T {
        &self.0
    }
}
impl<T> HolderMut<T> for Owned<T> {
    fn holder_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
impl<T> HolderTake<T> for Owned<T> {
    fn holder_take(self) -> T {
        self.0
    }
}
impl HolderRef<str> for OwnedStr {
    fn holder_ref(&self) -> &str {
        &self.0
    }
}
impl HolderMut<str> for OwnedStr {
    fn holder_mut(&mut self) -> &mut str {
        &mut self.0
    }
}
impl<T> HolderRef<[T]> for OwnedSlice<T> {
    fn holder_ref(&self) -> &[T] {
        &self.0
    }
}
impl<T> HolderMut<[T]> for OwnedSlice<T> {
    fn holder_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}
impl<T: ?Sized> HolderRef<T> for Unbuildable {
    fn holder_ref(&self) -> &T {
        match *self {}
    }
}
impl<T: ?Sized> HolderMut<T> for Unbuildable {
    fn holder_mut(&mut self) -> &mut T {
        match *self {}
    }
}
impl<T> HolderTake<T> for Unbuildable {
    fn holder_take(self) -> T {
        match self {}
    }
}

fn decode_arg<T: LuaDecode>(value: &Value, name: &'static str) -> Result<T, DynError> {
    T::decode(value).map_err(|e| DynError::Decode(e.at_key(name)))
}

/// Probe: building an argument of type `T` from a value.
#[doc(hidden)]
pub trait ProbeFixture {
    /// What holds the decoded value.
    type Holder;
    /// Decodes `value` as argument `name`.
    fn fixture_arg(
        &self,
        value: &Value,
        name: &'static str,
        rust_type: &'static str,
    ) -> Result<Self::Holder, DynError>;
}
impl<T: LuaDecode> ProbeFixture for Probe<T> {
    type Holder = Owned<T>;
    fn fixture_arg(
        &self,
        value: &Value,
        name: &'static str,
        _: &'static str,
    ) -> Result<Owned<T>, DynError> {
        decode_arg(value, name).map(Owned)
    }
}
impl ProbeFixture for Probe<str> {
    type Holder = OwnedStr;
    fn fixture_arg(
        &self,
        value: &Value,
        name: &'static str,
        _: &'static str,
    ) -> Result<OwnedStr, DynError> {
        decode_arg(value, name).map(OwnedStr)
    }
}
impl<T: LuaDecode> ProbeFixture for Probe<[T]> {
    type Holder = OwnedSlice<T>;
    fn fixture_arg(
        &self,
        value: &Value,
        name: &'static str,
        _: &'static str,
    ) -> Result<OwnedSlice<T>, DynError> {
        decode_arg(value, name).map(OwnedSlice)
    }
}
/// Fallback of [`ProbeFixture`]: the type cannot be decoded, which is an error at run
/// time (not at compile time: a hook may take encode-only arguments).
#[doc(hidden)]
pub trait ProbeFixtureFallback {
    /// Always an error.
    fn fixture_arg(
        &self,
        value: &Value,
        name: &'static str,
        rust_type: &'static str,
    ) -> Result<Unbuildable, DynError>;
}
impl<T: ?Sized> ProbeFixtureFallback for &Probe<T> {
    fn fixture_arg(
        &self,
        _: &Value,
        name: &'static str,
        rust_type: &'static str,
    ) -> Result<Unbuildable, DynError> {
        Err(DynError::Unbuildable {
            arg: name,
            rust_type,
        })
    }
}

/// Probe: encoding a written-back argument.
#[doc(hidden)]
pub trait ProbeEncodeValue<T: ?Sized> {
    /// `value` as a Lua value of `lua`.
    fn encode_value(&self, lua: &Lua, value: &T, name: &str) -> Result<Value, DynError>;
}
impl<T: LuaEncode> ProbeEncodeValue<T> for Probe<T> {
    fn encode_value(&self, lua: &Lua, value: &T, name: &str) -> Result<Value, DynError> {
        value.encode(lua).map_err(|e| DynError::Encode {
            name: name.to_string(),
            message: e.to_string(),
        })
    }
}
/// Fallback of [`ProbeEncodeValue`]; never called (a `&mut` argument is encodable, or
/// the build failed).
#[doc(hidden)]
pub trait ProbeEncodeValueFallback<T: ?Sized> {
    /// An error.
    fn encode_value(&self, lua: &Lua, value: &T, name: &str) -> Result<Value, DynError>;
}
impl<T: ?Sized> ProbeEncodeValueFallback<T> for &Probe<T> {
    fn encode_value(&self, _: &Lua, _: &T, name: &str) -> Result<Value, DynError> {
        Err(DynError::Encode {
            name: name.to_string(),
            message: "the type does not implement `LuaEncode`".into(),
        })
    }
}

/// Probe: a declared result as a Lua value, through `LuaEncode`.
#[doc(hidden)]
pub trait ProbeEncodeResult<T> {
    /// `value` as a Lua value of `lua`.
    fn encode_result(
        &self,
        lua: &Lua,
        value: &T,
        tables: &ResultTables,
        name: &str,
    ) -> Result<Value, DynError>;
}
impl<T: LuaEncode> ProbeEncodeResult<T> for Probe<T> {
    fn encode_result(
        &self,
        lua: &Lua,
        value: &T,
        _: &ResultTables,
        name: &str,
    ) -> Result<Value, DynError> {
        value.encode(lua).map_err(|e| DynError::Encode {
            name: name.to_string(),
            message: e.to_string(),
        })
    }
}
/// Fallback of [`ProbeEncodeResult`] for result types without `LuaEncode`: the value
/// the script returned, copied from the returned tables.
#[doc(hidden)]
pub trait ProbeEncodeResultFallback<T> {
    /// The returned value.
    fn encode_result(
        &self,
        lua: &Lua,
        value: &T,
        tables: &ResultTables,
        name: &str,
    ) -> Result<Value, DynError>;
}
impl<T> ProbeEncodeResultFallback<T> for &Probe<T> {
    fn encode_result(
        &self,
        lua: &Lua,
        _: &T,
        tables: &ResultTables,
        name: &str,
    ) -> Result<Value, DynError> {
        for t in tables.tables().iter().rev() {
            let v: Value = t.raw_get(name).unwrap_or(Value::Nil);
            if !v.is_nil() {
                return copy_value(&v, lua, 0).map_err(|message| DynError::Encode {
                    name: name.to_string(),
                    message,
                });
            }
        }
        Ok(Value::Nil)
    }
}

/// Probe: running a hook's chain with its errors reported.
#[doc(hidden)]
pub trait ProbeDynCall {
    /// The arguments struct.
    type Args: HookArgs;
    /// [`call_fail_closed`].
    fn dyn_call_hook(
        &self,
        rt: &Runtime,
        args: &mut Self::Args,
    ) -> Result<<Self::Args as HookArgs>::Results, HookError>;
}
impl<A: HookArgs> ProbeDynCall for Probe<A> {
    type Args = A;
    fn dyn_call_hook(&self, rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
        call_fail_closed(rt, args)
    }
}
/// Fallback of [`ProbeDynCall`]; never called (a type check failed the build).
#[doc(hidden)]
pub trait ProbeDynCallFallback {
    /// Never called.
    fn dyn_call_hook<A, R>(&self, rt: &Runtime, args: &mut A) -> Result<R, HookError>;
}
impl<T: ?Sized> ProbeDynCallFallback for &Probe<T> {
    fn dyn_call_hook<A, R>(&self, _: &Runtime, _: &mut A) -> Result<R, HookError> {
        unreachable!(
            "frrhook: probe fallback called; a type check of #[hook_point] should have failed the build"
        )
    }
}

/// Fills [`DynOutcome::other`] with the returned keys that `hook` does not declare.
#[doc(hidden)]
pub fn dyn_other_keys(
    out: &mut DynOutcome,
    lua: &Lua,
    hook: &HookDescriptor,
    tables: &ResultTables,
) -> Result<(), DynError> {
    let known =
        |k: &str| hook.args.iter().any(|a| a.name == k) || hook.results.iter().any(|r| r.name == k);
    let mut found: std::collections::BTreeMap<String, Value> = Default::default();
    for t in tables.tables() {
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| DynError::Encode {
                name: "(returned table)".into(),
                message: e.to_string(),
            })?;
            let key = match &k {
                Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                Value::Integer(i) => i.to_string(),
                other => crate::codec::value::describe(other),
            };
            if known(&key) {
                continue;
            }
            let v = copy_value(&v, lua, 0).map_err(|message| DynError::Encode {
                name: key.clone(),
                message,
            })?;
            found.insert(key, v);
        }
    }
    out.other = found.into_iter().collect();
    Ok(())
}

/// Copies a value of another state into `lua`: scalars and strings as they are, tables
/// deeply (a cycle is an error), functions and userdata as the text `<function>` etc.
pub(crate) fn copy_value(v: &Value, lua: &Lua, depth: u32) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "tables nested deeper than {MAX_DEPTH} levels (is the table cyclic?)"
        ));
    }
    Ok(match v {
        Value::Nil => Value::Nil,
        Value::Boolean(b) => Value::Boolean(*b),
        Value::Integer(i) => Value::Integer(*i),
        Value::Number(n) => Value::Number(*n),
        Value::String(s) => {
            Value::String(lua.create_string(s.as_bytes()).map_err(|e| e.to_string())?)
        }
        Value::Table(t) => Value::Table(copy_table(t, lua, depth)?),
        other => Value::String(
            lua.create_string(format!("<{}>", crate::codec::type_name(other)))
                .map_err(|e| e.to_string())?,
        ),
    })
}

fn copy_table(t: &Table, lua: &Lua, depth: u32) -> Result<Table, String> {
    // A lazy argument table a script kept or returned: its fields first.
    crate::codec::lazy::force(t).map_err(|e| e.to_string())?;
    let out = lua.create_table().map_err(|e| e.to_string())?;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let k = copy_value(&k, lua, depth + 1)?;
        let v = copy_value(&v, lua, depth + 1)?;
        out.raw_set(k, v).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Pushes a result value; used by generated code.
#[doc(hidden)]
pub fn dyn_push_result(
    out: &mut DynOutcome,
    name: &'static str,
    value: Result<Value, DynError>,
) -> Result<(), DynError> {
    out.results.push((name, value?));
    Ok(())
}

/// Pushes a written-back argument; used by generated code.
#[doc(hidden)]
pub fn dyn_push_written_back(
    out: &mut DynOutcome,
    name: &'static str,
    value: Result<Value, DynError>,
) -> Result<(), DynError> {
    out.written_back.push((name, value?));
    Ok(())
}
