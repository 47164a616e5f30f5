//! `impl LuaEncode`: a fresh Lua value per call, tables presized.
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::lua_type::lua_type_body;
use super::{Direction, impl_header, int_value, span_of};
use crate::codec::model::{Field, Model, Shape, VariantKind};
use crate::codec::parse::Repr;

/// `impl LuaEncode`.
pub(super) fn encode_impl(m: &Model) -> TokenStream {
    let k = &m.krate;
    let header = impl_header(m, Direction::Encode, Vec::new());
    let body = match &m.shape {
        Shape::Struct(fields) => {
            let access = fields.iter().map(|f| {
                let member = &f.member;
                quote!(&self.#member)
            });
            encode_table(k, None, fields.iter().zip(access))
        }
        Shape::Newtype(ty) => {
            quote_spanned!(span_of(ty)=> <#ty as #k::LuaEncode>::encode(&self.0, __lua))
        }
        Shape::UnitEnum {
            repr: Repr::String,
            variants,
        } => {
            let arms = variants.iter().map(|v| {
                let (ident, name) = (&v.ident, &v.lua_name);
                quote!(Self::#ident => #name)
            });
            quote! {
                let __name: &str = match self { #(#arms,)* };
                __lua.create_string(__name).map(#k::mlua::Value::String)
            }
        }
        Shape::UnitEnum {
            repr: Repr::Integer,
            variants,
        } => {
            let arms = variants.iter().map(|v| {
                let (ident, value) = (&v.ident, int_value(v));
                quote!(Self::#ident => #value)
            });
            quote!(::core::result::Result::Ok(#k::mlua::Value::Integer(match self { #(#arms,)* })))
        }
        Shape::DataEnum { tag, variants } => {
            let arms = variants.iter().map(|v| {
                let ident = &v.ident;
                let tagged = Some((tag.as_str(), v.lua_name.as_str()));
                match &v.kind {
                    VariantKind::Unit => {
                        let body = encode_table(k, tagged, std::iter::empty());
                        quote!(Self::#ident => { #body })
                    }
                    VariantKind::Newtype(f) => {
                        let body =
                            encode_table(k, tagged, std::iter::once((&**f, quote!(__field))));
                        quote!(Self::#ident(__field) => { #body })
                    }
                    VariantKind::Struct(fields) => {
                        let live: Vec<&Field> = fields.iter().filter(|f| !f.skip).collect();
                        let bindings: Vec<Ident> = (0..live.len())
                            .map(|i| format_ident!("__field{}", i))
                            .collect();
                        let members = live.iter().map(|f| &f.member);
                        let body = encode_table(
                            k,
                            tagged,
                            live.iter()
                                .copied()
                                .zip(bindings.iter().map(|b| quote!(#b))),
                        );
                        quote!(Self::#ident { #(#members: #bindings,)* .. } => { #body })
                    }
                }
            });
            quote!(match self { #(#arms)* })
        }
    };
    let lua_type = lua_type_body(m, Direction::Encode);
    let push_raw = push_raw_fn(m);
    quote! {
        #header {
            fn encode(&self, __lua: &#k::mlua::Lua) -> #k::mlua::Result<#k::mlua::Value> {
                #body
            }
            #push_raw

            fn lua_type(__registry: &mut #k::TypeRegistry) -> #k::LuaType {
                #lua_type
            }
        }
    }
}

/// `fn push_raw`: the raw-stack fast path (FRR's `lua_push*`), for the shapes where it
/// pays; data enums keep the default, which goes through `encode`.
fn push_raw_fn(m: &Model) -> TokenStream {
    let k = &m.krate;
    let body = match &m.shape {
        Shape::Struct(fields) => {
            let n = fields.iter().filter(|f| !f.skip).count();
            return quote! {
                fn push_raw(&self, __cx: &#k::raw::RawCx<'_>) -> #k::mlua::Result<()> {
                    __cx.push_table(0, #n, |__t| #k::lazy::LuaFields::fill_fields(self, __t))
                }

                fn lazy_source(
                    &self,
                ) -> ::core::option::Option<&dyn #k::lazy::LazySource> {
                    #[allow(unused_imports)]
                    use #k::lazy::{AsLazy as _, NotLazy as _};
                    (&#k::lazy::LazyProbe(self)).lazy_source()
                }
            };
        }
        Shape::Newtype(ty) => {
            quote_spanned!(span_of(ty)=> <#ty as #k::LuaEncode>::push_raw(&self.0, __cx))
        }
        Shape::UnitEnum {
            repr: Repr::String,
            variants,
        } => {
            let arms = variants.iter().map(|v| {
                let (ident, name) = (&v.ident, &v.lua_name);
                quote!(Self::#ident => #name)
            });
            quote! {
                let __name: &str = match self { #(#arms,)* };
                __cx.push_bytes(__name.as_bytes())
            }
        }
        Shape::UnitEnum {
            repr: Repr::Integer,
            variants,
        } => {
            let arms = variants.iter().map(|v| {
                let (ident, value) = (&v.ident, int_value(v));
                quote!(Self::#ident => #value)
            });
            quote!(__cx.push_integer(match self { #(#arms,)* }))
        }
        Shape::DataEnum { .. } => return TokenStream::new(),
    };
    quote! {
        fn push_raw(&self, __cx: &#k::raw::RawCx<'_>) -> #k::mlua::Result<()> {
            #body
        }
    }
}

/// Builds a table from `(field, expression of &T)` pairs, skipped fields left out,
/// with the tag first when `tagged` is `Some((key, value))`.
fn encode_table<'a>(
    k: &syn::Path,
    tagged: Option<(&str, &str)>,
    fields: impl Iterator<Item = (&'a Field, TokenStream)>,
) -> TokenStream {
    let sets: Vec<TokenStream> = fields
        .filter(|(f, _)| !f.skip)
        .map(|(f, access)| {
            let (ty, key) = (&f.ty, &f.lua_name);
            let encode = quote_spanned!(f.span()=> <#ty as #k::LuaEncode>::encode(#access, __lua));
            quote!(__table.raw_set(#key, #encode?)?;)
        })
        .collect();
    let tag = tagged.map(|(key, value)| quote!(__table.raw_set(#key, #value)?;));
    let capacity = sets.len() + usize::from(tagged.is_some());
    quote! {
        let __table = __lua.create_table_with_capacity(0, #capacity)?;
        #tag
        #(#sets)*
        ::core::result::Result::Ok(#k::mlua::Value::Table(__table))
    }
}

/// `impl LuaFields` for a struct with named fields: its fields set one by one on an
/// existing table (what `push_raw` and lazy `&T` arguments use).
pub(super) fn fields_impl(m: &Model) -> TokenStream {
    let k = &m.krate;
    let Shape::Struct(fields) = &m.shape else {
        return TokenStream::new();
    };
    let sets = fields.iter().filter(|f| !f.skip).map(|f| {
        let (ty, member) = (&f.ty, &f.member);
        match std::ffi::CString::new(f.lua_name.clone()) {
            Ok(key) => {
                let key = proc_macro2::Literal::c_string(&key);
                quote_spanned!(f.span()=> <#ty as #k::LuaEncode>::push_raw(&self.#member, __t.cx())?; __t.set(#key)?;)
            }
            Err(_) => {
                let key = proc_macro2::Literal::byte_string(f.lua_name.as_bytes());
                quote_spanned!(f.span()=> __t.cx().push_bytes(#key)?; <#ty as #k::LuaEncode>::push_raw(&self.#member, __t.cx())?; __t.set_pair()?;)
            }
        }
    });
    let count = fields.iter().filter(|f| !f.skip).count();
    let names = fields.iter().filter(|f| !f.skip).map(|f| &f.lua_name);
    let arms = fields.iter().filter(|f| !f.skip).enumerate().map(|(i, f)| {
        let (ty, member) = (&f.ty, &f.member);
        quote_spanned!(f.span()=> #i => <#ty as #k::LuaEncode>::push_raw(&self.#member, __cx),)
    });
    let sources = fields.iter().filter(|f| !f.skip).enumerate().map(|(i, f)| {
        let (ty, member) = (&f.ty, &f.member);
        quote_spanned!(f.span()=> #i => <#ty as #k::LuaEncode>::lazy_source(&self.#member),)
    });
    let header = super::impl_header_as(
        m,
        Direction::Encode,
        &quote!(#k::lazy::LuaFields),
        Vec::new(),
    );
    quote! {
        #header {
            const FIELD_COUNT: usize = #count;
            const FIELD_NAMES: &'static [&'static str] = &[#(#names),*];

            fn fill_fields(&self, __t: &#k::raw::TableCx<'_, '_>) -> #k::mlua::Result<()> {
                #(#sets)*
                ::core::result::Result::Ok(())
            }

            fn push_field(
                &self,
                __i: usize,
                __cx: &#k::raw::RawCx<'_>,
            ) -> #k::mlua::Result<()> {
                match __i {
                    #(#arms)*
                    _ => __cx.push_nil(),
                }
            }

            fn field_source(
                &self,
                __i: usize,
            ) -> ::core::option::Option<&dyn #k::lazy::LazySource> {
                match __i {
                    #(#sources)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}
