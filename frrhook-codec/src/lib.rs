//! Lua codec traits and built-in encodings for frrhook.
//!
//! This crate is FRR's encoder/decoder system rebuilt on Rust traits:
//!
//! | FRR (C)              | frrhook                                  |
//! |----------------------|------------------------------------------|
//! | `lua_push*`          | [`LuaEncode::encode`]                    |
//! | `lua_to*`            | [`LuaDecode::decode`] (a new value)      |
//! | `lua_decode*`        | [`LuaDecode::decode_into`] (in place)    |
//! | `_Generic` tables    | trait resolution at compile time         |
//!
//! A type that has no encoding is a compile error that names the type and points at
//! `#[derive(LuaCodec)]`, where FRR only warns.
//!
//! Decoding is *total*: no Lua value, however shaped, panics. Every failure is a
//! [`DecodeError`] carrying the path to the bad value, such as
//! `attributes.communities[3]: expected string, got boolean`.
//!
//! ```
//! use frrhook_codec::{LuaDecode, LuaEncode, mlua::Lua};
//!
//! let lua = Lua::new();
//! let v = vec![1u32, 2, 3].encode(&lua).unwrap();
//! let back = Vec::<u32>::decode(&v).unwrap();
//! assert_eq!(back, [1, 2, 3]);
//! let err = u8::decode(&frrhook_codec::mlua::Value::Integer(300)).unwrap_err();
//! assert_eq!(err.to_string(), "expected integer in 0..=255 (u8), got 300");
//! ```
#![warn(missing_docs)]

pub use mlua;

mod decode;
mod depth;
#[doc(hidden)]
pub mod derive_support;
mod encode;
mod error;
pub mod frr;
mod impls;
pub mod lazy;
mod lua_type;
pub mod raw;
pub mod value;

pub use decode::{LuaCodec, LuaDecode};
pub use depth::{DepthGuard, MAX_DEPTH};
pub use encode::LuaEncode;
pub use error::{DecodeError, DecodeErrorKind, PathSegment};
pub use lua_type::{ClassDef, ClassKind, FieldDef, LuaType, TypeRegistry};
pub use value::type_name;

/// Derives [`LuaEncode`] and [`LuaDecode`] for a struct or an enum.
///
/// See the crate documentation of `frrhook` and `docs/codec.md` for the attributes.
pub use frrhook_macros::LuaCodec;
