//! Code generation: a [`Model`] → `impl LuaEncode` and `impl LuaDecode`.
//!
//! Generated code names only absolute paths: the codec crate's (`#k::...`, by default
//! `::frrhook::codec`), `::core` and `::std`. Locals start with `__` so that no user
//! constant or unit struct in scope can turn a binding into a pattern.
//!
//! [`encode`] writes `impl LuaEncode`, [`decode`] writes `impl LuaDecode`, and both take
//! their `lua_type` (the LuaLS class registration) from [`lua_type`].
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{DeriveInput, Generics, Ident, Type, WherePredicate};

use super::model::{Model, UnitVariant};

mod decode;
mod encode;
mod lua_type;

/// Both impls (or only `LuaEncode` for a type with lifetimes).
pub(crate) fn expand(m: &Model) -> TokenStream {
    let encode = encode::encode_impl(m);
    let fields = encode::fields_impl(m);
    let decode = if m.encode_only {
        TokenStream::new()
    } else {
        decode::decode_impl(m)
    };
    quote!(#encode #fields #decode)
}

/// Impls that compile whatever the type is, emitted beside the errors of a failed
/// derive so that uses of the type do not add "trait not implemented" errors.
pub(crate) fn fallback(input: &DeriveInput, k: &syn::Path) -> TokenStream {
    let name = &input.ident;
    let (ig, tg, wc) = input.generics.split_for_impl();
    let attrs = quote! {
        #[automatically_derived]
        #[allow(unreachable_code, unused_variables, clippy::all)]
    };
    let body = quote!(::core::unreachable!(
        "`#[derive(LuaCodec)]` failed for this type; see the compile error"
    ));
    let encode = quote! {
        #attrs
        impl #ig #k::LuaEncode for #name #tg #wc {
            fn encode(&self, _: &#k::mlua::Lua) -> #k::mlua::Result<#k::mlua::Value> {
                #body
            }
        }
    };
    if input.generics.lifetimes().next().is_some() {
        return encode;
    }
    quote! {
        #encode
        #attrs
        impl #ig #k::LuaDecode for #name #tg #wc {
            type Update = Self;
            fn decode(_: &#k::mlua::Value) -> ::core::result::Result<Self, #k::DecodeError> {
                #body
            }
            fn prepare_update(&self, _: &#k::mlua::Value) -> ::core::result::Result<Self, #k::DecodeError> {
                #body
            }
            fn apply_update(&mut self, _: Self) -> Self {
                #body
            }
        }
    }
}

/// Which of the two traits an impl is for; `lua_type` calls go through the same trait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encode,
    Decode,
}

impl Direction {
    fn trait_path(self, k: &syn::Path) -> TokenStream {
        match self {
            Direction::Encode => quote!(#k::LuaEncode),
            Direction::Decode => quote!(#k::LuaDecode),
        }
    }
}

/// `impl<...> Trait for Name<...> where ...`, with `T: Trait` for each type parameter
/// and the `extra` predicates.
fn impl_header(m: &Model, dir: Direction, extra: Vec<WherePredicate>) -> TokenStream {
    impl_header_as(m, dir, &dir.trait_path(&m.krate), extra)
}

/// `impl<..> TRAIT for Name<..> where T: <dir's trait>, ...`: a header whose type
/// parameters are bounded by the codec trait of `dir` but that implements `implemented`.
fn impl_header_as(
    m: &Model,
    dir: Direction,
    implemented: &TokenStream,
    extra: Vec<WherePredicate>,
) -> TokenStream {
    let mut generics: Generics = m.generics.clone();
    let tr = dir.trait_path(&m.krate);
    let params: Vec<Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
    let clause = generics.make_where_clause();
    for p in params {
        clause.predicates.push(syn::parse_quote!(#p: #tr));
    }
    clause.predicates.extend(extra);
    let (ig, tg, wc) = generics.split_for_impl();
    let name = &m.ident;
    quote! {
        #[automatically_derived]
        impl #ig #implemented for #name #tg #wc
    }
}

/// The span of a type, for errors about it.
fn span_of(ty: &Type) -> Span {
    syn::spanned::Spanned::span(ty)
}

/// The integer of a variant with `repr = "integer"`: `value = N`, or the discriminant.
fn int_value(v: &UnitVariant) -> TokenStream {
    let ident = &v.ident;
    match v.value {
        Some(n) => quote!(#n),
        None => quote!((Self::#ident as i64)),
    }
}

/// Doubles `{` and `}` so that `text` can sit in a `format!` template.
fn escape_braces(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}
