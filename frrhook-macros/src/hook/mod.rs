//! `#[hook_point]`: declares a hook point on a function signature.
//!
//! Three steps, each in its own file:
//! - [`parse`]: the attribute's options and the signature, as written; syntax errors
//!   spanned on the user's tokens, with "did you mean" for misspelled options;
//! - [`model`]: the validated [`model::Hook`], every problem reported at once;
//! - [`expand`]: the generated items (see the module doc there), naming only
//!   `::frrhook::...` paths (or the path given with `crate = ...`).
//!
//! When anything is wrong the output is the errors plus a stub with the same function
//! signature and results struct, so the rest of the crate still type-checks and the user
//! sees the errors that matter.
use proc_macro2::TokenStream;
use syn::Ident;
use syn::ext::IdentExt;

mod expand;
mod expand_dyn;
mod model;
mod parse;
#[cfg(test)]
mod tests;

/// The `#[hook_point]` attribute: `attr` is the option list, `item` the signature.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let opts = parse::options(attr, &mut errors);
    let raw = match parse::item(item.clone()) {
        Ok(raw) => raw,
        Err(e) => {
            // Not a function: give the item back untouched, with the errors.
            errors.push(e);
            let mut out = errors
                .finish()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            out.extend(item);
            return out;
        }
    };
    let hook = model::build(opts, raw, &mut errors);
    match errors.finish() {
        None => expand::hook(&hook),
        Some(e) => {
            let mut out = e.to_compile_error();
            out.extend(expand::stub(&hook));
            out
        }
    }
}

/// Collects errors so that one compile reports all of them.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> Option<syn::Error> {
        self.0
    }
}

/// `route_match` → `RouteMatch`.
pub fn camel(ident: &Ident) -> String {
    ident
        .unraw()
        .to_string()
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}
