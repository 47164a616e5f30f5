//! `Option<T>` (nil is `None`), `()` (nil), and the smart pointers `Box`, `Rc`, `Arc`.

use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Value};

use crate::value::describe;
use crate::{DecodeError, LuaDecode, LuaEncode, LuaType, TypeRegistry};

fn optional(inner: LuaType) -> LuaType {
    match inner {
        LuaType::Optional(_) | LuaType::Nil | LuaType::Any => inner,
        other => LuaType::Optional(Box::new(other)),
    }
}

impl<T: LuaEncode> LuaEncode for Option<T> {
    fn encode(&self, lua: &Lua) -> mlua::Result<Value> {
        match self {
            Some(v) => v.encode(lua),
            None => Ok(Value::Nil),
        }
    }
    fn push_raw(&self, cx: &crate::raw::RawCx<'_>) -> mlua::Result<()> {
        match self {
            Some(v) => v.push_raw(cx),
            None => cx.push_nil(),
        }
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        optional(<T as LuaEncode>::lua_type(registry))
    }
}

impl<T: LuaDecode> LuaDecode for Option<T> {
    crate::whole_value_update!();
    #[inline]
    fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
        if cx.is_nil(idx) {
            Some(None)
        } else {
            T::decode_raw(cx, idx).map(Some)
        }
    }
    #[inline]
    fn raw_eq(&self, cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> bool {
        match self {
            None => cx.is_nil(idx),
            Some(v) => !cx.is_nil(idx) && v.raw_eq(cx, idx),
        }
    }
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match value {
            Value::Nil => Ok(None),
            other => T::decode(other).map(Some),
        }
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        optional(<T as LuaDecode>::lua_type(registry))
    }
}

impl LuaEncode for () {
    fn encode(&self, _lua: &Lua) -> mlua::Result<Value> {
        Ok(Value::Nil)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Nil
    }
}

impl LuaDecode for () {
    crate::whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        match value {
            Value::Nil => Ok(()),
            other => Err(DecodeError::type_mismatch("nil", describe(other))),
        }
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::Nil
    }
}

/// Delegates to `T`, including in-place updates: a boxed derived struct is patched field
/// by field like an unboxed one.
impl<T: LuaDecode> LuaDecode for Box<T> {
    type Update = T::Update;
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        T::decode(value).map(Box::new)
    }
    fn prepare_update(&self, value: &Value) -> Result<Self::Update, DecodeError> {
        (**self).prepare_update(value)
    }
    fn apply_update(&mut self, update: Self::Update) -> Self::Update {
        (**self).apply_update(update)
    }
    fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
        T::decode_raw(cx, idx).map(Box::new)
    }
    fn raw_eq(&self, cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> bool {
        (**self).raw_eq(cx, idx)
    }
    fn prepare_update_raw(
        &self,
        cx: &crate::raw::RawCx<'_>,
        idx: std::ffi::c_int,
    ) -> Option<Self::Update> {
        (**self).prepare_update_raw(cx, idx)
    }
    fn lua_type(registry: &mut TypeRegistry) -> LuaType {
        <T as LuaDecode>::lua_type(registry)
    }
}

/// Decoded whole: a new `Rc`/`Arc` replaces the old one (other holders keep the old
/// value).
macro_rules! shared_decode {
    ($($ptr:ident),*) => {$(
        impl<T: LuaDecode> LuaDecode for $ptr<T> {
            crate::whole_value_update!();
            fn decode(value: &Value) -> Result<Self, DecodeError> {
                T::decode(value).map($ptr::new)
            }
            fn decode_raw(cx: &crate::raw::RawCx<'_>, idx: std::ffi::c_int) -> Option<Self> {
                T::decode_raw(cx, idx).map($ptr::new)
            }
            fn lua_type(registry: &mut TypeRegistry) -> LuaType {
                <T as LuaDecode>::lua_type(registry)
            }
        }
    )*};
}

shared_decode!(Rc, Arc);
