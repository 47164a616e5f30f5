//! `impl LuaDecode`: `decode`, and the two-phase `prepare_update` / `apply_update`
//! behind the all-or-nothing `decode_into`.
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::{GenericArgument, Ident, PathArguments, Type, WherePredicate};

use super::lua_type::lua_type_body;
use super::{Direction, escape_braces, impl_header, int_value, span_of};
use crate::codec::model::{
    DataVariant, Field, FieldDefault, Model, Shape, UnitVariant, VariantKind,
};
use crate::codec::parse::Repr;

/// `impl LuaDecode`.
pub(super) fn decode_impl(m: &Model) -> TokenStream {
    let k = &m.krate;
    let header = impl_header(m, Direction::Decode, default_bounds(m));
    let lua_type = lua_type_body(m, Direction::Decode);
    let result = |t: TokenStream| quote!(::core::result::Result<#t, #k::DecodeError>);
    let ret_self = result(quote!(Self));
    let methods = match &m.shape {
        Shape::Struct(fields) => struct_decode(k, fields),
        Shape::Newtype(ty) => {
            let tr = quote_spanned!(span_of(ty)=> <#ty as #k::LuaDecode>);
            let span = span_of(ty);
            let update = quote_spanned!(span=> type Update = #tr::Update;);
            let update_fns = quote_spanned! {span=>
                fn prepare_update(&self, __value: &#k::mlua::Value)
                    -> ::core::result::Result<Self::Update, #k::DecodeError>
                {
                    #tr::prepare_update(&self.0, __value)
                }

                fn apply_update(&mut self, __update: Self::Update) -> Self::Update {
                    #tr::apply_update(&mut self.0, __update)
                }

                fn prepare_update_raw(
                    &self,
                    __cx: &#k::raw::RawCx<'_>,
                    __idx: ::core::ffi::c_int,
                ) -> ::core::option::Option<Self::Update> {
                    #tr::prepare_update_raw(&self.0, __cx, __idx)
                }
            };
            quote! {
                #update

                fn decode(__value: &#k::mlua::Value) -> #ret_self {
                    #tr::decode(__value).map(Self)
                }

                fn decode_raw(
                    __cx: &#k::raw::RawCx<'_>,
                    __idx: ::core::ffi::c_int,
                ) -> ::core::option::Option<Self> {
                    #tr::decode_raw(__cx, __idx).map(Self)
                }

                #update_fns
            }
        }
        Shape::UnitEnum { repr, variants } => {
            let body = match repr {
                Repr::String => unit_string_decode(k, variants),
                Repr::Integer => unit_integer_decode(k, variants),
            };
            let whole = whole_value(k, body);
            let raw = unit_raw_decode(k, *repr, variants);
            quote!(#whole #raw)
        }
        Shape::DataEnum { tag, variants } => whole_value(k, data_enum_decode(k, tag, variants)),
    };
    quote! {
        #header {
            #methods

            fn lua_type(__registry: &mut #k::TypeRegistry) -> #k::LuaType {
                #lua_type
            }
        }
    }
}

/// The span for the parts of the impl that name the whole update type: `type Update`,
/// `prepare_update` and `apply_update`.
///
/// rustc reports a field type without `LuaDecode` where the field's update type appears
/// (spanned on the field) and again where the whole update type does, on those items.
/// When one field can be blamed, the items carry its span and the errors merge into one
/// on the field: the only field of a newtype, or the only live field whose type is not
/// one the codec is known to decode (`u32`, `String`, `Vec<u8>`, ...). Otherwise the
/// items keep the derive's span, where the second error then appears.
fn update_span<'a>(types: impl IntoIterator<Item = &'a Type>) -> Span {
    let mut unknown = types.into_iter().filter(|ty| !known_decodable(ty));
    match (unknown.next(), unknown.next()) {
        (Some(only), None) => span_of(only),
        _ => Span::call_site(),
    }
}

/// Whether `ty` is written as a type the codec decodes whatever the user's code is: a
/// primitive or `String`, or `Option`, `Vec` or `Box` of one, or a tuple of them. Only
/// single-segment names count, and only to pick a span: a wrong guess moves an error,
/// it cannot hide one.
fn known_decodable(ty: &Type) -> bool {
    const SCALARS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char", "String",
    ];
    const WRAPPERS: &[&str] = &["Option", "Vec", "Box"];
    match ty {
        Type::Paren(p) => known_decodable(&p.elem),
        Type::Group(g) => known_decodable(&g.elem),
        Type::Tuple(t) => t.elems.iter().all(known_decodable),
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            let name = seg.ident.to_string();
            match &seg.arguments {
                PathArguments::None => SCALARS.contains(&name.as_str()),
                PathArguments::AngleBracketed(ab) if WRAPPERS.contains(&name.as_str()) => {
                    ab.args.len() == 1
                        && matches!(ab.args.first(), Some(GenericArgument::Type(t)) if known_decodable(t))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// `T: Default` for the generic types of skipped fields and `#[lua(default)]` fields,
/// which a bound on the type parameter alone would not give.
fn default_bounds(m: &Model) -> Vec<WherePredicate> {
    let params: Vec<String> = m
        .generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect();
    if params.is_empty() {
        return Vec::new();
    }
    let fields: Vec<&Field> = match &m.shape {
        Shape::Struct(fields) => fields.iter().collect(),
        Shape::DataEnum { variants, .. } => variants
            .iter()
            .flat_map(|v| match &v.kind {
                VariantKind::Struct(fields) => fields.iter().collect(),
                _ => Vec::new(),
            })
            .collect(),
        Shape::Newtype(_) | Shape::UnitEnum { .. } => Vec::new(),
    };
    fields
        .into_iter()
        .filter(|f| f.skip || matches!(f.default, Some(FieldDefault::Trait)))
        .filter(|f| mentions(quote::ToTokens::to_token_stream(&f.ty), &params))
        .map(|f| {
            let ty = &f.ty;
            syn::parse_quote_spanned!(f.span()=> #ty: ::core::default::Default)
        })
        .collect()
}

/// Whether any identifier in `tokens` is one of `names`.
fn mentions(tokens: TokenStream, names: &[String]) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => names.iter().any(|n| i == n),
        TokenTree::Group(g) => mentions(g.stream(), names),
        _ => false,
    })
}

/// The `LuaDecode` methods of a type replaced whole (`Update = Self`).
fn whole_value(k: &syn::Path, decode_body: TokenStream) -> TokenStream {
    quote! {
        type Update = Self;

        fn decode(__value: &#k::mlua::Value) -> ::core::result::Result<Self, #k::DecodeError> {
            #decode_body
        }

        fn prepare_update(&self, __value: &#k::mlua::Value) -> ::core::result::Result<Self, #k::DecodeError> {
            <Self as #k::LuaDecode>::decode(__value)
        }

        fn prepare_update_raw(
            &self,
            __cx: &#k::raw::RawCx<'_>,
            __idx: ::core::ffi::c_int,
        ) -> ::core::option::Option<Self> {
            <Self as #k::LuaDecode>::decode_raw(__cx, __idx)
        }

        fn apply_update(&mut self, __update: Self) -> Self {
            ::core::mem::replace(self, __update)
        }
    }
}

/// `let __table = ...;` from `__value`, or return a type error; with `guard`, also
/// enters one level of nesting and defines `__get(key)`, a raw read.
fn open_table(k: &syn::Path, guard: bool) -> TokenStream {
    let open = quote! {
        let __table = match __value {
            #k::mlua::Value::Table(__table) => __table,
            __other => {
                return ::core::result::Result::Err(#k::DecodeError::type_mismatch(
                    "table",
                    #k::value::describe(__other),
                ));
            }
        };
        #k::lazy::force(__table).map_err(|__e| {
            #k::DecodeError::invalid(::std::string::ToString::to_string(&__e))
        })?;
    };
    if !guard {
        return open;
    }
    quote! {
        #open
        let __guard = #k::DepthGuard::enter()?;
        let __get = |__key: &'static str| -> ::core::result::Result<#k::mlua::Value, #k::DecodeError> {
            #k::raw::get_field(__table, __key.as_bytes()).map_err(|__e| {
                #k::DecodeError::invalid(::std::string::ToString::to_string(&__e)).at_key(__key)
            })
        };
    }
}

/// Reads one field for `decode`: the decoded value, or what an absent key means.
///
/// Defaults go through the `derive_support` traits, whose diagnostics say which
/// `#[lua(...)]` option needs `Default`, or what the `default` function must return.
fn decode_field(k: &syn::Path, f: &Field) -> TokenStream {
    let (ty, key) = (&f.ty, &f.lua_name);
    let trait_default =
        || quote_spanned!(f.span()=> <#ty as #k::derive_support::FieldDefault>::field_default());
    if f.skip {
        return trait_default();
    }
    let absent = if f.optional {
        quote!(::core::option::Option::None)
    } else {
        match &f.default {
            Some(FieldDefault::Trait) => trait_default(),
            Some(FieldDefault::Function(path, span)) => quote_spanned! {*span=>
                <_ as #k::derive_support::DefaultFn<#ty>>::call_default(#path)
            },
            None => quote!(return ::core::result::Result::Err(#k::DecodeError::missing(#key))),
        }
    };
    let decode = quote_spanned!(f.span()=> <#ty as #k::LuaDecode>::decode(&__v));
    quote!({
        let __v = __get(#key)?;
        if __v.is_nil() {
            #absent
        } else {
            #decode.map_err(|__e| __e.at_key(#key))?
        }
    })
}

/// `decode`, `prepare_update` and `apply_update` of a struct with named fields.
fn struct_decode(k: &syn::Path, fields: &[Field]) -> TokenStream {
    let live: Vec<&Field> = fields.iter().filter(|f| !f.skip).collect();
    let inits = fields.iter().map(|f| {
        let (member, value) = (&f.member, decode_field(k, f));
        quote!(#member: #value)
    });
    let decode = {
        let open = open_table(k, !live.is_empty());
        quote! {
            fn decode(__value: &#k::mlua::Value) -> ::core::result::Result<Self, #k::DecodeError> {
                #open
                ::core::result::Result::Ok(Self { #(#inits,)* })
            }
        }
    };
    let updates = live.iter().map(|f| {
        let ty = &f.ty;
        quote_spanned!(f.span()=> ::core::option::Option<<#ty as #k::LuaDecode>::Update>)
    });
    if live.is_empty() {
        let open = open_table(k, false);
        return quote! {
            type Update = ();

            #decode

            fn prepare_update(&self, __value: &#k::mlua::Value) -> ::core::result::Result<(), #k::DecodeError> {
                #open
                ::core::result::Result::Ok(())
            }

            fn apply_update(&mut self, __update: ()) {}
        };
    }
    let prepares = live.iter().map(|f| {
        let (ty, key, member) = (&f.ty, &f.lua_name, &f.member);
        let prepare =
            quote_spanned!(f.span()=> <#ty as #k::LuaDecode>::prepare_update(&self.#member, &__v));
        quote!({
            let __v = __get(#key)?;
            if __v.is_nil() {
                ::core::option::Option::None
            } else {
                ::core::option::Option::Some(#prepare.map_err(|__e| __e.at_key(#key))?)
            }
        })
    });
    let parts: Vec<Ident> = (0..live.len())
        .map(|i| format_ident!("__update{}", i))
        .collect();
    let applies = live.iter().zip(&parts).map(|(f, part)| {
        let (ty, member) = (&f.ty, &f.member);
        quote_spanned!(f.span()=> #part.map(|__u| <#ty as #k::LuaDecode>::apply_update(&mut self.#member, __u)))
    });
    let raw = struct_raw_decode(k, fields);
    let open = open_table(k, true);
    let span = update_span(live.iter().map(|f| &f.ty));
    let update = quote_spanned!(span=> type Update = (#(#updates,)*););
    let update_fns = quote_spanned! {span=>
        fn prepare_update(&self, __value: &#k::mlua::Value)
            -> ::core::result::Result<Self::Update, #k::DecodeError>
        {
            #open
            ::core::result::Result::Ok((#(#prepares,)*))
        }

        fn apply_update(&mut self, __update: Self::Update) -> Self::Update {
            let (#(#parts,)*) = __update;
            (#(#applies,)*)
        }
    };
    quote! {
        #update

        #decode

        #update_fns

        #raw
    }
}

/// The C-string literal of a key, or `None` for a key with a NUL byte (whose struct
/// then has no raw fast path).
fn c_key(key: &str) -> Option<proc_macro2::Literal> {
    std::ffi::CString::new(key)
        .ok()
        .map(|k| proc_macro2::Literal::c_string(&k))
}

/// `decode_raw` and `prepare_update_raw` of a struct with named fields (at least one
/// live): the fields read straight off the Lua stack. They answer `None`, and the
/// `mlua::Value` path runs instead, for anything but a plain table whose fields all
/// take the fast path: so they never need to build an error.
fn struct_raw_decode(k: &syn::Path, fields: &[Field]) -> TokenStream {
    let live: Vec<&Field> = fields.iter().filter(|f| !f.skip).collect();
    let keys: Option<Vec<proc_macro2::Literal>> = live.iter().map(|f| c_key(&f.lua_name)).collect();
    let Some(keys) = keys else {
        return TokenStream::new();
    };
    let read =
        |f: &Field, key: &proc_macro2::Literal, present: TokenStream, absent: TokenStream| {
            let _ = f;
            quote!({
                let __at = __cx.push_field(__idx, #key)?;
                let __r = if __cx.is_nil(__at) { #absent } else { #present };
                __cx.pop(1);
                __r?
            })
        };
    let mut key_iter = keys.iter();
    let inits: Vec<TokenStream> = fields
        .iter()
        .map(|f| {
            let (ty, member) = (&f.ty, &f.member);
            if f.skip {
                let value = quote_spanned!(f.span()=> <#ty as #k::derive_support::FieldDefault>::field_default());
                return quote!(#member: #value);
            }
            let key = key_iter.next().expect("one key per live field");
            let absent = if f.optional {
                quote!(::core::option::Option::Some(::core::option::Option::None))
            } else {
                match &f.default {
                    Some(FieldDefault::Trait) => quote_spanned!(f.span()=> ::core::option::Option::Some(<#ty as #k::derive_support::FieldDefault>::field_default())),
                    Some(FieldDefault::Function(path, span)) => quote_spanned! {*span=>
                        ::core::option::Option::Some(<_ as #k::derive_support::DefaultFn<#ty>>::call_default(#path))
                    },
                    None => quote!(::core::option::Option::None),
                }
            };
            let present = quote_spanned!(f.span()=> <#ty as #k::LuaDecode>::decode_raw(__cx, __at)
                .or_else(|| __cx.value_at(__at).ok().and_then(|__v| <#ty as #k::LuaDecode>::decode(&__v).ok())));
            let value = read(f, key, present, absent);
            quote!(#member: #value)
        })
        .collect();
    // `prepare_update_raw` looks each field up once, raw: a field whose value is
    // unchanged is left out of the update, as is an absent one; other keys are ignored.
    let arms: Vec<TokenStream> = live
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (ty, member) = (&f.ty, &f.member);
            let slot = syn::Index::from(i);
            let update = quote_spanned!(f.span()=> if <#ty as #k::LuaDecode>::raw_eq(&self.#member, __cx, __at) {
                ::core::option::Option::Some(::core::option::Option::None)
            } else {
                <#ty as #k::LuaDecode>::prepare_update_raw(&self.#member, __cx, __at)
                    .or_else(|| __cx.value_at(__at).ok().and_then(|__v| <#ty as #k::LuaDecode>::prepare_update(&self.#member, &__v).ok()))
                    .map(::core::option::Option::Some)
            });
            quote! {
                #i => match #update {
                    ::core::option::Option::Some(__u) => __update.#slot = __u,
                    ::core::option::Option::None => return false,
                },
            }
        })
        .collect();
    let nones = live.iter().map(|_| quote!(::core::option::Option::None));
    let span = update_span(live.iter().map(|f| &f.ty));
    let prepare = quote_spanned! {span=>
        fn prepare_update_raw(
            &self,
            __cx: &#k::raw::RawCx<'_>,
            __idx: ::core::ffi::c_int,
        ) -> ::core::option::Option<Self::Update> {
            if !__cx.is_plain_table(__idx) {
                return ::core::option::Option::None;
            }
            let __guard = #k::DepthGuard::enter().ok()?;
            let mut __update: Self::Update = (#(#nones,)*);
            let __complete = __cx.for_each_field(__idx, &[#(#keys),*], |__cx, __field, __at| {
                match __field {
                    #(#arms)*
                    _ => {}
                }
                true
            });
            __complete.then_some(__update)
        }
    };
    quote! {
        fn decode_raw(
            __cx: &#k::raw::RawCx<'_>,
            __idx: ::core::ffi::c_int,
        ) -> ::core::option::Option<Self> {
            if !__cx.is_plain_table(__idx) {
                return ::core::option::Option::None;
            }
            let __guard = #k::DepthGuard::enter().ok()?;
            ::core::option::Option::Some(Self { #(#inits,)* })
        }

        #prepare
    }
}

/// `decode_raw` of a unit enum: its string or integer read off the stack.
fn unit_raw_decode(k: &syn::Path, repr: Repr, variants: &[UnitVariant]) -> TokenStream {
    let body = match repr {
        Repr::String => {
            let names = variants
                .iter()
                .map(|v| syn::LitByteStr::new(v.lua_name.as_bytes(), Span::call_site()));
            let arms = variants.iter().enumerate().map(|(i, v)| {
                let ident = &v.ident;
                quote!(#i => ::core::option::Option::Some(Self::#ident))
            });
            quote! {
                match __cx.bytes_index(__idx, &[#(&#names[..]),*])? {
                    #(#arms,)*
                    _ => ::core::option::Option::None,
                }
            }
        }
        Repr::Integer => {
            let checks = variants.iter().map(|v| {
                let (ident, value) = (&v.ident, int_value(v));
                quote! {
                    if __n == #value {
                        return ::core::option::Option::Some(Self::#ident);
                    }
                }
            });
            quote! {
                let __n = __cx.exact_integer_at(__idx)?;
                #(#checks)*
                ::core::option::Option::None
            }
        }
    };
    quote! {
        fn decode_raw(
            __cx: &#k::raw::RawCx<'_>,
            __idx: ::core::ffi::c_int,
        ) -> ::core::option::Option<Self> {
            #body
        }

        fn raw_eq(&self, __cx: &#k::raw::RawCx<'_>, __idx: ::core::ffi::c_int) -> bool {
            <Self as #k::LuaDecode>::decode_raw(__cx, __idx)
                .is_some_and(|__v| ::core::mem::discriminant(&__v) == ::core::mem::discriminant(self))
        }
    }
}

/// `"a", "b", "c"`: the accepted names, for error messages.
fn quoted_list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The body of `decode` for a unit enum in string form.
fn unit_string_decode(k: &syn::Path, variants: &[UnitVariant]) -> TokenStream {
    let arms = variants.iter().map(|v| {
        let (ident, bytes) = (
            &v.ident,
            syn::LitByteStr::new(v.lua_name.as_bytes(), Span::call_site()),
        );
        quote!(#bytes => ::core::result::Result::Ok(Self::#ident))
    });
    let expected = format!(
        "expected one of {}, got ",
        quoted_list(variants.iter().map(|v| &v.lua_name))
    );
    quote! {
        match __value {
            #k::mlua::Value::String(__string) => match &*__string.as_bytes() {
                #(#arms,)*
                _ => ::core::result::Result::Err(#k::DecodeError::invalid(
                    ::std::string::String::from(#expected) + &#k::value::describe(__value),
                )),
            },
            __other => ::core::result::Result::Err(#k::DecodeError::type_mismatch(
                "string",
                #k::value::describe(__other),
            )),
        }
    }
}

/// The body of `decode` for a unit enum in integer form.
fn unit_integer_decode(k: &syn::Path, variants: &[UnitVariant]) -> TokenStream {
    let checks = variants.iter().map(|v| {
        let (ident, value) = (&v.ident, int_value(v));
        quote! {
            if __n == #value {
                return ::core::result::Result::Ok(Self::#ident);
            }
        }
    });
    let accepted: Vec<String> = variants
        .iter()
        .map(|v| format!("{{}} ({})", escape_braces(&v.lua_name)))
        .collect();
    let template = format!("expected one of {}, got {{}}", accepted.join(", "));
    let values = variants.iter().map(int_value);
    quote! {
        let __n = <i64 as #k::LuaDecode>::decode(__value)?;
        #(#checks)*
        ::core::result::Result::Err(#k::DecodeError::invalid(::std::format!(
            #template,
            #(#values,)*
            #k::value::describe(__value),
        )))
    }
}

/// The body of `decode` for an enum with data: read the tag, then the variant.
fn data_enum_decode(k: &syn::Path, tag: &str, variants: &[DataVariant]) -> TokenStream {
    let open = open_table(k, true);
    let arms = variants.iter().map(|v| {
        let (ident, bytes) = (
            &v.ident,
            syn::LitByteStr::new(v.lua_name.as_bytes(), Span::call_site()),
        );
        let value = match &v.kind {
            VariantKind::Unit => quote!(Self::#ident),
            VariantKind::Newtype(f) => {
                let field = decode_field(k, f);
                quote!(Self::#ident(#field))
            }
            VariantKind::Struct(fields) => {
                let inits = fields.iter().map(|f| {
                    let (member, value) = (&f.member, decode_field(k, f));
                    quote!(#member: #value)
                });
                quote!(Self::#ident { #(#inits,)* })
            }
        };
        quote!(#bytes => ::core::result::Result::Ok(#value))
    });
    let expected = format!(
        "expected one of {}, got ",
        quoted_list(variants.iter().map(|v| &v.lua_name))
    );
    quote! {
        #open
        let __tag = __get(#tag)?;
        let __tag_string = match &__tag {
            #k::mlua::Value::String(__string) => __string,
            #k::mlua::Value::Nil => {
                return ::core::result::Result::Err(#k::DecodeError::missing(#tag));
            }
            __other => {
                return ::core::result::Result::Err(
                    #k::DecodeError::type_mismatch("string", #k::value::describe(__other)).at_key(#tag),
                );
            }
        };
        match &*__tag_string.as_bytes() {
            #(#arms,)*
            _ => ::core::result::Result::Err(
                #k::DecodeError::invalid(::std::string::String::from(#expected) + &#k::value::describe(&__tag))
                    .at_key(#tag),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_decodable_types() {
        for known in [
            quote!(u32),
            quote!(String),
            quote!(Option<Vec<u8>>),
            quote!((bool, f64)),
        ] {
            assert!(
                known_decodable(&syn::parse2(known.clone()).unwrap()),
                "{known}"
            );
        }
        for unknown in [
            quote!(Nexthop),
            quote!(Vec<Nexthop>),
            quote!(&'static str),
            quote!(std::string::String),
            quote!(T),
        ] {
            assert!(
                !known_decodable(&syn::parse2(unknown.clone()).unwrap()),
                "{unknown}"
            );
        }
    }
}
