use std::ffi::c_int;

use mlua::Value;

use crate::raw::RawCx;
use crate::{DecodeError, LuaEncode, LuaType, TypeRegistry};

/// A Rust value that can be read back from Lua.
///
/// Two ways to decode, as in FRR:
/// - [`decode`](LuaDecode::decode) makes a new value (FRR's `lua_to*`);
/// - [`decode_into`](LuaDecode::decode_into) updates an existing value in place (FRR's
///   `lua_decode*`). For structs it changes only the fields whose keys are present, and
///   it is all-or-nothing: on error the value is exactly as it was.
///
/// `decode_into` is built from two steps that callers holding several values use
/// directly, so that a failure in the last of several write-backs changes none of them:
/// [`prepare_update`](LuaDecode::prepare_update) validates and decodes everything into
/// an [`Update`](LuaDecode::Update) without touching `self`, and
/// [`apply_update`](LuaDecode::apply_update) moves it in and cannot fail.
///
/// Types decoded whole use `type Update = Self`.
///
/// ```
/// use frrhook_codec::{LuaDecode, mlua::Value};
///
/// let mut x = 7u8;
/// let undo = x.apply_update(x.prepare_update(&Value::Integer(8)).unwrap());
/// assert_eq!((x, undo), (8, 7));
/// x.apply_update(undo);
/// assert!(x.decode_into(&Value::Integer(300)).is_err());
/// assert_eq!(x, 7); // untouched on error
/// x.decode_into(&Value::Integer(9)).unwrap();
/// assert_eq!(x, 9);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read back from Lua: it does not implement `LuaDecode`",
    label = "no Lua decoding for `{Self}`",
    note = "add `#[derive(LuaCodec)]` to the definition of `{Self}`, or implement `LuaDecode` for it by hand"
)]
pub trait LuaDecode: Sized {
    /// What [`prepare_update`](LuaDecode::prepare_update) produces: `Self` for types
    /// replaced whole, a per-field patch for derived structs.
    type Update;

    /// Decodes a new value (FRR's `lua_to*`).
    fn decode(value: &Value) -> Result<Self, DecodeError>;

    /// Validates `value` as an update of `self` without changing `self`.
    fn prepare_update(&self, value: &Value) -> Result<Self::Update, DecodeError>;

    /// Applies an update made by [`prepare_update`](LuaDecode::prepare_update). Never
    /// fails. Returns the update that undoes it (the values it replaced), so a caller can
    /// roll back a sequence of updates without cloning.
    fn apply_update(&mut self, update: Self::Update) -> Self::Update;

    /// The fast path of [`decode`](LuaDecode::decode): decodes the value at absolute
    /// stack index `idx` of `cx` without building an `mlua::Value`, or returns `None`
    /// when it does not handle that shape (the caller then calls `decode`, which gives
    /// the same value or the error). It must return `Some` only with exactly what
    /// `decode` would return, and leave the stack as it found it. The default handles
    /// nothing. Callers go through [`crate::raw::decode_at`].
    #[doc(hidden)]
    fn decode_raw(cx: &RawCx<'_>, idx: c_int) -> Option<Self> {
        let _ = (cx, idx);
        None
    }

    /// The fast path of [`prepare_update`](LuaDecode::prepare_update), as
    /// [`decode_raw`](LuaDecode::decode_raw) is of `decode`.
    #[doc(hidden)]
    fn prepare_update_raw(&self, cx: &RawCx<'_>, idx: c_int) -> Option<Self::Update> {
        let _ = (cx, idx);
        None
    }

    /// Whether the value at absolute stack index `idx` of `cx` decodes to a value equal
    /// to `self`, checked without decoding it (no allocation). `false` when unsure: a
    /// struct's `prepare_update_raw` then leaves the field out of the update instead of
    /// decoding an unchanged copy. The default is always unsure.
    #[doc(hidden)]
    fn raw_eq(&self, cx: &RawCx<'_>, idx: c_int) -> bool {
        let _ = (cx, idx);
        false
    }

    /// Decodes `value` into `self` in place (FRR's `lua_decode*`); all-or-nothing.
    fn decode_into(&mut self, value: &Value) -> Result<(), DecodeError> {
        let update = self.prepare_update(value)?;
        drop(self.apply_update(update));
        Ok(())
    }

    /// Describes the Lua shape this type accepts, for listings and LuaLS stubs.
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        let _ = registry;
        LuaType::Any
    }
}

/// Both directions: what a `&mut T` hook argument needs.
///
/// Implemented for every type that is [`LuaEncode`] and [`LuaDecode`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be passed to Lua and written back: it does not implement both `LuaEncode` and `LuaDecode`",
    label = "`&mut {Self}` needs `LuaEncode + LuaDecode`",
    note = "add `#[derive(LuaCodec)]` to the definition of `{Self}`, or pass it as `&{Self}` if the script must not change it"
)]
pub trait LuaCodec: LuaEncode + LuaDecode {}

impl<T: LuaEncode + LuaDecode> LuaCodec for T {}

/// Implements the whole-value update methods of [`LuaDecode`] (`type Update = Self`).
///
/// Use inside an `impl LuaDecode for T` block of a type that is decoded whole.
///
/// ```
/// use frrhook_codec::{DecodeError, LuaDecode, whole_value_update, mlua::Value};
///
/// struct Celsius(f64);
/// impl LuaDecode for Celsius {
///     whole_value_update!();
///     fn decode(value: &Value) -> Result<Self, DecodeError> {
///         f64::decode(value).map(Celsius)
///     }
/// }
/// assert_eq!(Celsius::decode(&Value::Number(21.5)).unwrap().0, 21.5);
/// ```
#[macro_export]
macro_rules! whole_value_update {
    () => {
        type Update = Self;
        fn prepare_update(
            &self,
            value: &$crate::mlua::Value,
        ) -> ::core::result::Result<Self, $crate::DecodeError> {
            <Self as $crate::LuaDecode>::decode(value)
        }
        fn apply_update(&mut self, update: Self) -> Self {
            ::core::mem::replace(self, update)
        }
        fn prepare_update_raw(
            &self,
            cx: &$crate::raw::RawCx<'_>,
            idx: ::core::ffi::c_int,
        ) -> ::core::option::Option<Self> {
            <Self as $crate::LuaDecode>::decode_raw(cx, idx)
        }
    };
}
