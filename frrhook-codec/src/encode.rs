use mlua::{Lua, Value};

use crate::{LuaType, TypeRegistry};

/// A Rust value that can be handed to Lua (FRR's `lua_push*`).
///
/// `encode` builds a fresh Lua value every time; a script may keep it, change it or
/// return it, and nothing it does reaches the Rust value unless the value was passed as
/// `&mut T` and named in the returned table. (A hook may pass a `&T` argument as a lazy
/// table instead, filled as the script reads it: see [`crate::lazy`].)
///
/// Implement it with `#[derive(LuaCodec)]`; by hand only for shapes the derive cannot
/// express.
///
/// ```
/// use frrhook_codec::{LuaEncode, mlua::{Lua, Value}};
///
/// let lua = Lua::new();
/// assert!(matches!(42u16.encode(&lua).unwrap(), Value::Integer(42)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be passed to Lua: it does not implement `LuaEncode`",
    label = "no Lua encoding for `{Self}`",
    note = "add `#[derive(LuaCodec)]` to the definition of `{Self}`, or implement `LuaEncode` for it by hand"
)]
pub trait LuaEncode {
    /// Builds the Lua value for `self`.
    fn encode(&self, lua: &Lua) -> mlua::Result<Value>;

    /// Pushes the Lua value for `self` straight onto a Lua stack: the fast path hook
    /// calls use, as FRR's `lua_push*` functions. Must push exactly one value, or nothing
    /// and return the error. The default goes through [`encode`](Self::encode); built-in
    /// types and `#[derive(LuaCodec)]` override it.
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        let v = self.encode(cx.lua())?;
        cx.push_value(&v)
    }

    /// `self` as a source of a lazy table (see [`crate::lazy`]): what a hook passes a
    /// `&T` argument as. `None` (the default) means the value is always encoded in
    /// full; structs deriving `LuaCodec` that are also `Clone + 'static` return
    /// `Some(self)`.
    #[doc(hidden)]
    #[inline]
    fn lazy_source(&self) -> Option<&dyn crate::lazy::LazySource> {
        None
    }

    /// Describes the Lua shape of this type, for listings and LuaLS stubs.
    ///
    /// Named types (structs, enums) register a class in `registry` and return
    /// [`LuaType::Named`]; the default is [`LuaType::Any`].
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        let _ = registry;
        LuaType::Any
    }
}

/// References and smart pointers encode exactly as what they point to (a `&Peer`, a
/// `Box<Peer>` or an `Arc<Peer>` argument is lazy when `Peer` is).
macro_rules! forward_encode {
    ($($ty:ty),*) => {$(
        impl<T: LuaEncode + ?Sized> LuaEncode for $ty {
            fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
                (**self).encode(lua)
            }
            fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
                (**self).push_raw(cx)
            }
            fn lazy_source(&self) -> Option<&dyn crate::lazy::LazySource> {
                (**self).lazy_source()
            }
            fn lua_type(registry: &mut TypeRegistry) -> LuaType {
                T::lua_type(registry)
            }
        }
    )*};
}

forward_encode!(&T, &mut T, Box<T>, std::rc::Rc<T>, std::sync::Arc<T>);
