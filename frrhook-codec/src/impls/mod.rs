//! Built-in encodings. One file per family of types.

mod float;
mod int;
mod map;
mod net;
mod scalar;
mod seq;
pub(crate) mod table;
pub(crate) mod text;
mod time;
mod tuple;
mod wrap;
