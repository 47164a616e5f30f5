//! The interface between `#[hook_point]`-generated code and the runtime. Not a public
//! API: names and signatures here change without notice.

use std::ffi::{CStr, c_int};
use std::fmt;
use std::marker::PhantomData;

use crate::codec::raw::RawCx;
use crate::codec::{DecodeError, LuaDecode, LuaEncode, LuaType, TypeRegistry};
pub use crate::descriptor::HookRegistration;
pub use crate::dyn_call::{
    HolderMut, HolderRef, HolderTake, Owned, OwnedSlice, OwnedStr, ProbeDynCall,
    ProbeDynCallFallback, ProbeEncodeResult, ProbeEncodeResultFallback, ProbeEncodeValue,
    ProbeEncodeValueFallback, ProbeFixture, ProbeFixtureFallback, Unbuildable, call_fail_closed,
    dyn_arity, dyn_other_keys, dyn_push_result, dyn_push_written_back, probe_of,
};
pub use crate::results::ResultTables;
use crate::{HookDescriptor, HookError, Runtime};
pub use inventory;

/// An argument that failed to encode.
#[derive(Debug)]
pub struct ArgEncodeError {
    /// The argument's name.
    pub arg: &'static str,
    /// What mlua said.
    pub error: mlua::Error,
}

/// Implemented by the generated `<Name>Args` struct of each hook.
pub trait HookArgs {
    /// The generated results struct.
    type Results;
    /// For each `&mut` argument, the update that undoes a write-back.
    type Undo;
    /// The declared results read so far in a chain: one `Option` per result.
    type Partial;

    /// Whether a call keeps the tables the functions returned, for reading keys the
    /// hook does not declare (`results(..., ..)`). Without them a call reads the
    /// declared results and lets the tables go.
    const KEEPS_TABLES: bool = true;

    /// Whether `push_args` can push lazy tables (the hook has a `&T` parameter).
    const LAZY: bool = true;

    /// The hook's descriptor.
    fn descriptor() -> &'static HookDescriptor;

    /// Pushes every argument in order, constants last, onto the stack of `cx`; returns
    /// how many. With `lazy`, `&T` arguments may be lazy tables: only values borrowed
    /// for `'s` (the arguments this struct holds) can be, so none can go away before the
    /// call ends its tables.
    fn push_args<'s>(
        &'s self,
        cx: &RawCx<'_>,
        lazy: Option<&Lazy<'s>>,
    ) -> Result<i32, ArgEncodeError>;

    /// Writes back every `&mut` argument named in the returned table at stack index
    /// `idx`: all prepared first, then all applied, so an error leaves every argument as
    /// it was. Returns the undo.
    fn write_back(&mut self, cx: &RawCx<'_>, idx: c_int) -> Result<Self::Undo, DecodeError>;

    /// Applies an undo returned by `write_back`.
    fn undo(&mut self, undo: Self::Undo);

    /// Nothing read yet.
    fn partial() -> Self::Partial;

    /// Reads the declared results present in the returned table at `idx` into
    /// `partial`, replacing what an earlier function of the chain returned. On error
    /// `partial` may be half updated (the call fails anyway).
    fn read_results(
        partial: &mut Self::Partial,
        cx: &RawCx<'_>,
        idx: c_int,
    ) -> Result<(), DecodeError>;

    /// The results: what `partial` holds, defaults for the rest, and the tables for
    /// reading undeclared keys.
    fn results(partial: Self::Partial, returned: ResultTables) -> Self::Results;

    /// The results when nothing ran (nothing attached, or fail-open after an error).
    fn default_results() -> Self::Results;
}

/// Pushes one argument; generated code calls it for each parameter.
#[inline]
pub fn push_arg<T: LuaEncode + ?Sized>(
    cx: &RawCx<'_>,
    name: &'static str,
    value: &T,
) -> Result<(), ArgEncodeError> {
    value
        .push_raw(cx)
        .map_err(|error| ArgEncodeError { arg: name, error })
}

/// The lazy tables of the running call (see `lazy.rs`). Only the runtime makes one, for
/// the arguments of the call it is running: the tables it makes point at those
/// arguments until the call ends.
///
/// `'s` is the borrow of the arguments struct the runtime passes it with: a value given
/// to [`push_ref_arg`] must live at least that long (a temporary cannot), and the
/// struct outlives the call.
pub struct Lazy<'s>(
    pub(crate) &'s crate::lazy::LazyArgs,
    // Invariant in `'s`: a `Lazy<'s>` cannot be used with values of a shorter borrow.
    PhantomData<fn(&'s ()) -> &'s ()>,
);

impl<'s> Lazy<'s> {
    pub(crate) fn new(lazy: &'s crate::lazy::LazyArgs) -> Self {
        Lazy(lazy, PhantomData)
    }
}

/// Pushes one argument passed by reference (`&T`): a lazy table when `T` allows it
/// (see `frrhook_codec::lazy`) and the call makes them, else the full table.
#[inline]
pub fn push_ref_arg<'s, T: LuaEncode + ?Sized>(
    cx: &RawCx<'_>,
    lazy: Option<&Lazy<'s>>,
    name: &'static str,
    value: &'s T,
) -> Result<(), ArgEncodeError> {
    let r = match (lazy, value.lazy_source()) {
        // SAFETY: `value` is borrowed for `'s`, the borrow of the arguments struct the
        // runtime made `lazy` for, which lives until the call has ended its lazy tables
        // (`raw_call::call`); a shorter-lived value does not type-check.
        (Some(lazy), Some(source)) => unsafe { lazy.0.push_lazy(cx, name, source) },
        _ => value.push_raw(cx),
    };
    r.map_err(|error| ArgEncodeError { arg: name, error })
}

/// Pushes one integer constant (FRR's `RM_*`).
#[inline]
pub fn push_const(cx: &RawCx<'_>, name: &'static str, value: i64) -> Result<(), ArgEncodeError> {
    cx.push_integer(value)
        .map_err(|error| ArgEncodeError { arg: name, error })
}

/// Prepares the write-back of one `&mut` argument from the returned table at stack index
/// `idx`: `None` when the table does not name it, or names it with its current value.
#[inline]
pub fn prepare_arg<T: LuaDecode>(
    current: &T,
    cx: &RawCx<'_>,
    idx: c_int,
    name: &'static CStr,
) -> Result<Option<T::Update>, DecodeError> {
    let key = || name.to_str().unwrap_or("?");
    let Some(at) = cx.push_field(idx, name) else {
        return Err(DecodeError::invalid("Lua stack exhausted").at_key(key()));
    };
    prepare_pushed(current, cx, at, key)
}

/// [`prepare_arg`] for a key given as text (`Script::call`'s argument names).
pub(crate) fn prepare_named<T: LuaDecode>(
    current: &T,
    cx: &RawCx<'_>,
    idx: c_int,
    name: &str,
) -> Result<Option<T::Update>, DecodeError> {
    let Some(at) = cx.push_field_bytes(idx, name.as_bytes()) else {
        return Err(DecodeError::invalid("Lua stack exhausted").at_key(name));
    };
    prepare_pushed(current, cx, at, || name)
}

/// The update of `current` from the value pushed at `at` (popped before returning):
/// `None` when it is nil or equal to `current`.
#[inline]
fn prepare_pushed<'k, T: LuaDecode>(
    current: &T,
    cx: &RawCx<'_>,
    at: c_int,
    key: impl Fn() -> &'k str,
) -> Result<Option<T::Update>, DecodeError> {
    let r = if cx.is_nil(at) || current.raw_eq(cx, at) {
        Ok(None)
    } else {
        match current.prepare_update_raw(cx, at) {
            Some(update) => Ok(Some(update)),
            // The slow path: other shapes, and every error.
            None => cx
                .value_at(at)
                .map_err(|e| DecodeError::invalid(e.to_string()))
                .and_then(|v| current.prepare_update(&v))
                .map(Some),
        }
    };
    cx.pop(1);
    r.map_err(|e| e.at_key(key()))
}

/// Reads one declared result from the returned table at stack index `idx`: `None` when
/// the table does not have it.
#[inline]
pub fn read_result<T: LuaDecode>(
    cx: &RawCx<'_>,
    idx: c_int,
    name: &'static CStr,
) -> Result<Option<T>, DecodeError> {
    let key = || name.to_str().unwrap_or("?");
    let Some(at) = cx.push_field(idx, name) else {
        return Err(DecodeError::invalid("Lua stack exhausted").at_key(key()));
    };
    let r = if cx.is_nil(at) {
        Ok(None)
    } else {
        crate::codec::raw::decode_at::<T>(cx, at).map(Some)
    };
    cx.pop(1);
    r.map_err(|e| e.at_key(key()))
}

/// Runs the attached chain of `A`'s hook on `rt`. The generated call function has
/// already checked the gate.
#[inline(never)]
pub fn call<A: HookArgs>(rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
    crate::call::call(rt, args)
}

/// The returned tables in a results struct. Its one accessor is named `__inner`, not
/// `get` or `tables`, so that the compiler does not suggest the field as a way around
/// [`KeepsTables`] when `get` or `tables` is called without `..` (a hook without `..`
/// holds no tables anyway: this is always empty).
#[derive(Debug, Default)]
pub struct Returned(ResultTables);

impl Returned {
    /// Wraps the tables of a call.
    #[inline]
    pub fn new(tables: ResultTables) -> Self {
        Returned(tables)
    }

    /// The tables.
    #[inline]
    pub fn __inner(&self) -> &ResultTables {
        &self.0
    }
}

/// Implemented by the results struct of a hook whose `results(...)` ends with `..`:
/// only those keep the returned tables, so only those can read undeclared keys.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot read keys its hook does not declare",
    label = "this hook reads only the results it declares",
    note = "end the hook's `results(...)` with `..` to keep the returned tables for other keys: `#[hook_point(results(action: Option<i64>, ..))]`",
    note = "or declare the key as a result, which is also faster to read"
)]
pub trait KeepsTables<T: ?Sized> {}

/// Compile-time check that `&mut T` arguments can be written back.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed as `&mut` but cannot be written back from Lua",
    label = "`&mut {Self}` needs both `LuaEncode` and `LuaDecode`",
    note = "add `#[derive(LuaCodec)]` to the definition of `{Self}`, or pass it as `&{Self}` if scripts must not change it"
)]
pub trait WriteBack: LuaEncode + LuaDecode {}
// `do_not_recommend`: report "`T` cannot be written back" once, instead of one error per
// missing supertrait through this impl.
#[diagnostic::do_not_recommend]
impl<T: LuaEncode + LuaDecode> WriteBack for T {}

/// Used by generated code: `<T as WriteBackCheck>::CHECK` checks that `T` is
/// [`WriteBack`], with `WriteBack`'s message and no note pointing into this file (an
/// associated item of a trait without supertraits, unlike a function's bound or an item
/// of `WriteBack` itself).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed as `&mut` but cannot be written back from Lua",
    label = "`&mut {Self}` needs both `LuaEncode` and `LuaDecode`",
    note = "add `#[derive(LuaCodec)]` to the definition of `{Self}`, or pass it as `&{Self}` if scripts must not change it"
)]
pub trait WriteBackCheck {
    /// Named by the check.
    const CHECK: bool = true;
}
#[diagnostic::do_not_recommend]
impl<T: WriteBack> WriteBackCheck for T {}

// ---------------------------------------------------------------------------------------
// Probes: one compile error per bad type.
//
// Generated code checks each user type exactly once, with a type-check const (`<T as Trait>::item`) spanned on
// the type as the user wrote it. Every other use of a user type that needs a codec trait
// goes through a probe: `(&Probe::<T>::new()).method(..)` resolves to the `Probe*` trait
// when `T` has the bound and, by auto-ref, to the `*Fallback` trait when it does not. The
// fallbacks are never called: when one is selected a type check has already failed the
// build. Without them a type lacking `LuaEncode` would also fail in the descriptor, the
// call and the result decoding: five errors for one missing derive.
// ---------------------------------------------------------------------------------------

/// A zero-sized stand-in for `T`, the receiver of the probe methods.
pub struct Probe<T: ?Sized>(PhantomData<fn() -> PhantomData<T>>);

impl<T: ?Sized> Probe<T> {
    /// The probe for `T`.
    #[inline(always)]
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Probe::new()
    }
}

const UNREACHABLE: &str =
    "frrhook: probe fallback called; a type check of #[hook_point] should have failed the build";

/// Probe: the Lua shape of an argument type.
pub trait ProbeEncode {
    /// `T`'s shape.
    fn encode_lua_type(&self, registry: &mut TypeRegistry) -> LuaType;
}
impl<T: ?Sized + LuaEncode> ProbeEncode for Probe<T> {
    #[inline]
    fn encode_lua_type(&self, registry: &mut TypeRegistry) -> LuaType {
        T::lua_type(registry)
    }
}
/// Fallback of [`ProbeEncode`].
pub trait ProbeEncodeFallback {
    /// Never called.
    fn encode_lua_type(&self, registry: &mut TypeRegistry) -> LuaType;
}
impl<T: ?Sized> ProbeEncodeFallback for &Probe<T> {
    fn encode_lua_type(&self, _: &mut TypeRegistry) -> LuaType {
        unreachable!("{UNREACHABLE}")
    }
}

/// Probe: decoding a declared result.
pub trait ProbeDecode<T> {
    /// `T`'s shape.
    fn decode_lua_type(&self, registry: &mut TypeRegistry) -> LuaType;
    /// [`read_result`].
    fn read_result(
        &self,
        cx: &RawCx<'_>,
        idx: c_int,
        name: &'static CStr,
    ) -> Result<Option<T>, DecodeError>;
}
impl<T: LuaDecode> ProbeDecode<T> for Probe<T> {
    #[inline]
    fn decode_lua_type(&self, registry: &mut TypeRegistry) -> LuaType {
        <T as LuaDecode>::lua_type(registry)
    }
    #[inline]
    fn read_result(
        &self,
        cx: &RawCx<'_>,
        idx: c_int,
        name: &'static CStr,
    ) -> Result<Option<T>, DecodeError> {
        read_result::<T>(cx, idx, name)
    }
}
/// Fallback of [`ProbeDecode`].
pub trait ProbeDecodeFallback<T> {
    /// Never called.
    fn decode_lua_type(&self, registry: &mut TypeRegistry) -> LuaType;
    /// Never called.
    fn read_result(
        &self,
        cx: &RawCx<'_>,
        idx: c_int,
        name: &'static CStr,
    ) -> Result<Option<T>, DecodeError>;
}
impl<T> ProbeDecodeFallback<T> for &Probe<T> {
    fn decode_lua_type(&self, _: &mut TypeRegistry) -> LuaType {
        unreachable!("{UNREACHABLE}")
    }
    fn read_result(
        &self,
        _: &RawCx<'_>,
        _: c_int,
        _: &'static CStr,
    ) -> Result<Option<T>, DecodeError> {
        unreachable!("{UNREACHABLE}")
    }
}

/// Probe: running the chain of a hook whose argument types all have their codecs.
pub trait ProbeCall {
    /// The arguments struct.
    type Args: HookArgs;
    /// [`call`].
    fn call_hook(
        &self,
        rt: &Runtime,
        args: &mut Self::Args,
    ) -> Result<<Self::Args as HookArgs>::Results, HookError>;
}
impl<A: HookArgs> ProbeCall for Probe<A> {
    type Args = A;
    #[inline(always)]
    fn call_hook(&self, rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
        call(rt, args)
    }
}
/// Fallback of [`ProbeCall`].
pub trait ProbeCallFallback {
    /// Never called.
    fn call_hook<A, R>(&self, rt: &Runtime, args: &mut A) -> Result<R, HookError>;
}
impl<T: ?Sized> ProbeCallFallback for &Probe<T> {
    fn call_hook<A, R>(&self, _: &Runtime, _: &mut A) -> Result<R, HookError> {
        unreachable!("{UNREACHABLE}")
    }
}

/// Probe: `Debug` of a result field, `..` for types without `Debug`.
pub trait ProbeDebug<T> {
    /// The field as `dyn Debug`.
    fn debug_field<'v>(&self, value: &'v T) -> &'v dyn fmt::Debug;
}
impl<T: fmt::Debug> ProbeDebug<T> for Probe<T> {
    #[inline]
    fn debug_field<'v>(&self, value: &'v T) -> &'v dyn fmt::Debug {
        value
    }
}
/// Fallback of [`ProbeDebug`]: the type has no `Debug`.
pub trait ProbeDebugFallback<T> {
    /// Prints `..`.
    fn debug_field<'v>(&self, value: &'v T) -> &'v dyn fmt::Debug;
}
impl<T> ProbeDebugFallback<T> for &Probe<T> {
    fn debug_field<'v>(&self, _: &'v T) -> &'v dyn fmt::Debug {
        &NoDebug
    }
}
struct NoDebug;
impl fmt::Debug for NoDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}
