//! Procedural macros for frrhook. Use them through the `frrhook` crate.
use proc_macro::TokenStream;

/// Derives `LuaEncode` and `LuaDecode`.
#[proc_macro_derive(LuaCodec, attributes(lua))]
pub fn derive_lua_codec(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}

/// Declares a hook point.
#[proc_macro_attribute]
pub fn hook_point(attr: TokenStream, item: TokenStream) -> TokenStream {
    let _ = attr;
    item
}
