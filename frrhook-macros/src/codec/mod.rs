//! `#[derive(LuaCodec)]`: implements `LuaEncode` and `LuaDecode` for a struct or enum.
//!
//! Three steps, each in its own file: [`parse`] reads the `#[lua(...)]` attributes
//! into options, [`model`] checks them against the shape of the type and resolves every
//! Lua name, [`expand`] generates the impls. Every error is collected and reported in
//! one compile; beside them, [`expand::fallback`] emits placeholder impls so that the
//! rest of the user's crate does not fail with follow-on "trait not implemented" errors.
use proc_macro2::TokenStream;

mod case;
mod expand;
mod model;
mod parse;
#[cfg(test)]
mod tests;

/// Expands `#[derive(LuaCodec)]` on `input` (the item the derive is on).
pub fn derive(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    match model::build(&input) {
        Ok(model) => expand::expand(&model),
        Err(failure) => {
            let mut out = failure.error.to_compile_error();
            out.extend(expand::fallback(&input, &failure.krate));
            out
        }
    }
}
