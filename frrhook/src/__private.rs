//! The interface between `#[hook_point]`-generated code and the runtime. Not a public
//! API: names and signatures here change without notice.

use mlua::{Lua, Table, Value};

use crate::codec::{DecodeError, LuaDecode, LuaEncode};
pub use crate::descriptor::HookRegistration;
use crate::{HookDescriptor, HookError, Runtime};
pub use crate::results::ResultTables;
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

    /// The hook's descriptor.
    fn descriptor() -> &'static HookDescriptor;

    /// Pushes every argument in order, constants last, onto `out`.
    fn encode(&self, lua: &Lua, out: &mut Vec<Value>) -> Result<(), ArgEncodeError>;

    /// Writes back every `&mut` argument named in `returned`: all prepared first, then
    /// all applied, so an error leaves every argument as it was. Returns the undo.
    fn write_back(&mut self, returned: &Table) -> Result<Self::Undo, DecodeError>;

    /// Applies an undo returned by `write_back`.
    fn undo(&mut self, undo: Self::Undo);

    /// Decodes the declared results from the returned tables.
    fn results(returned: ResultTables) -> Result<Self::Results, DecodeError>;

    /// The results when nothing ran (nothing attached, or fail-open after an error).
    fn default_results() -> Self::Results;
}

/// Encodes one argument; generated code calls it for each parameter.
#[inline]
pub fn encode_arg<T: LuaEncode + ?Sized>(
    lua: &Lua,
    name: &'static str,
    value: &T,
    out: &mut Vec<Value>,
) -> Result<(), ArgEncodeError> {
    match value.encode(lua) {
        Ok(v) => {
            out.push(v);
            Ok(())
        }
        Err(error) => Err(ArgEncodeError { arg: name, error }),
    }
}

/// Prepares the write-back of one `&mut` argument: `None` when `returned` does not name it.
#[inline]
pub fn prepare_arg<T: LuaDecode>(
    current: &T,
    returned: &Table,
    name: &'static str,
) -> Result<Option<T::Update>, DecodeError> {
    let v: Value = returned
        .raw_get(name)
        .map_err(|e| DecodeError::invalid(e.to_string()).at_key(name))?;
    if v.is_nil() {
        return Ok(None);
    }
    current.prepare_update(&v).map(Some).map_err(|e| e.at_key(name))
}

/// Reads one declared result: the last table of the chain that has the key wins.
#[inline]
pub fn result<T: LuaDecode>(returned: &ResultTables, name: &'static str) -> Result<Option<T>, DecodeError> {
    returned.get(name)
}

/// Runs the attached chain of `A`'s hook on `rt`. The generated call function has
/// already checked the gate.
#[inline(never)]
pub fn call<A: HookArgs>(rt: &Runtime, args: &mut A) -> Result<A::Results, HookError> {
    crate::call::call(rt, args)
}

/// Compile-time check that `&mut T` arguments can be written back.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed as `&mut` but cannot be written back from Lua",
    label = "`&mut {Self}` needs both `LuaEncode` and `LuaDecode`",
    note = "add `#[derive(LuaCodec)]` to `{Self}`, or pass it as `&{Self}` if scripts must not change it"
)]
pub trait WriteBack: LuaEncode + LuaDecode {}
impl<T: LuaEncode + LuaDecode> WriteBack for T {}

/// Used by generated code: `assert_write_back::<T>()` spans the error on the type.
pub const fn assert_write_back<T: WriteBack>() {}
/// Used by generated code: `assert_encode::<T>()` spans the error on the type.
pub const fn assert_encode<T: LuaEncode + ?Sized>() {}
/// Used by generated code: `assert_decode::<T>()` spans the error on the type.
pub const fn assert_decode<T: LuaDecode>() {}
