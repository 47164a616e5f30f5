//! Procedural macros for frrhook: `#[hook_point]` and `#[derive(LuaCodec)]`.
//!
//! Use them through the `frrhook` crate, which re-exports both. Each macro is built in
//! three steps, as PyO3's and serde's are: *parse* (tokens into options and a
//! signature, errors spanned on the user's tokens), *model* (a validated description),
//! *expand* (code generation naming only `::frrhook::` paths, or the path given with
//! `crate = ...`).
use proc_macro::TokenStream;

mod codec;
mod hook;

/// Derives `LuaEncode` and `LuaDecode` for a struct or enum. See `docs/codec.md`.
#[proc_macro_derive(LuaCodec, attributes(lua))]
pub fn derive_lua_codec(input: TokenStream) -> TokenStream {
    codec::derive(input.into()).into()
}

/// Declares a hook point on a function signature. See `docs/hook-points.md`.
#[proc_macro_attribute]
pub fn hook_point(attr: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(attr.into(), item.into()).into()
}
