//! Built-in encodings. One file per family of types.

mod int;
mod scalar;
