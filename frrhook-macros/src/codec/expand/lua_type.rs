//! `lua_type`: the LuaLS class (or alias) a derived type registers.
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Ident, Type};

use super::{Direction, escape_braces, int_value, span_of};
use crate::codec::model::{DataVariant, Field, Model, Shape, VariantKind};
use crate::codec::parse::Repr;

/// `<T as Trait>::lua_type(__registry)`, spanned on `T`.
fn field_lua_type(k: &syn::Path, dir: Direction, ty: &Type) -> TokenStream {
    let tr = dir.trait_path(k);
    quote_spanned!(span_of(ty)=> <#ty as #tr>::lua_type(__registry))
}

/// Wraps a `LuaType` expression in `Optional` unless it already is.
fn optional(k: &syn::Path, expr: TokenStream) -> TokenStream {
    quote! {
        match #expr {
            __t @ #k::LuaType::Optional(_) => __t,
            __t => #k::LuaType::Optional(::std::boxed::Box::new(__t)),
        }
    }
}

/// The body of `lua_type`: registers the class (or alias) and returns its name.
pub(super) fn lua_type_body(m: &Model, dir: Direction) -> TokenStream {
    let k = &m.krate;
    let kind = match &m.shape {
        Shape::Newtype(ty) => return field_lua_type(k, dir, ty),
        Shape::Struct(fields) => {
            let defs = fields.iter().filter(|f| !f.skip).map(|f| {
                let mut ty = field_lua_type(k, dir, &f.ty);
                if f.optional {
                    ty = optional(k, ty);
                }
                field_def(k, &f.lua_name, ty, &f.doc)
            });
            quote!(#k::ClassKind::Class(::std::vec::Vec::from([#(#defs),*])))
        }
        Shape::UnitEnum {
            repr: Repr::String,
            variants,
        } => {
            let names = variants.iter().map(|v| &v.lua_name);
            quote! {
                #k::ClassKind::Alias(#k::LuaType::Union(::std::vec::Vec::from([
                    #(#k::LuaType::Literal(::std::string::String::from(#names))),*
                ])))
            }
        }
        Shape::UnitEnum {
            repr: Repr::Integer,
            ..
        } => quote!(#k::ClassKind::Alias(#k::LuaType::Integer)),
        Shape::DataEnum { tag, variants } => data_enum_class(k, dir, tag, variants),
    };
    let doc = class_doc(m);
    let name = class_name(m, dir);
    quote! {
        #name
        __registry.define(&__name, |__registry| #k::ClassDef {
            name: ::std::clone::Clone::clone(&__name),
            doc: #doc,
            kind: #kind,
        })
    }
}

/// `let __name = ...;`: the class name, with the Lua types of the type parameters for
/// a generic type (`Pair<integer, string>`) so that instances do not collide.
fn class_name(m: &Model, dir: Direction) -> TokenStream {
    let base = &m.class_name;
    let params: Vec<&Ident> = m.generics.type_params().map(|p| &p.ident).collect();
    if params.is_empty() {
        return quote!(let __name = ::std::string::String::from(#base););
    }
    let tr = dir.trait_path(&m.krate);
    quote! {
        let __name = ::std::format!(
            "{}<{}>",
            #base,
            [#(::std::string::ToString::to_string(&<#params as #tr>::lua_type(__registry))),*].join(", ")
        );
    }
}

/// The class doc: the container doc, plus for enums the variants and their docs.
fn class_doc(m: &Model) -> TokenStream {
    let mut doc = m.doc.clone();
    let push = |doc: &mut String, line: String| {
        if !doc.is_empty() {
            doc.push('\n');
        }
        doc.push_str(&line);
    };
    match &m.shape {
        Shape::UnitEnum {
            repr: Repr::String,
            variants,
        } => {
            for v in variants.iter().filter(|v| !v.doc.is_empty()) {
                push(&mut doc, format!("\"{}\": {}", v.lua_name, v.doc));
            }
        }
        Shape::UnitEnum {
            repr: Repr::Integer,
            variants,
        } => {
            // The values are discriminants, known only to the compiler: formatted at run
            // time into a template built here.
            let mut template = escape_braces(&doc);
            if !template.is_empty() {
                template.push('\n');
            }
            template.push_str("Values: ");
            let entries: Vec<String> = variants
                .iter()
                .map(|v| {
                    let doc = if v.doc.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", v.doc)
                    };
                    format!("{{}} = {}", escape_braces(&format!("{}{doc}", v.lua_name)))
                })
                .collect();
            template.push_str(&entries.join(", "));
            let values = variants.iter().map(int_value);
            return quote!(::std::format!(#template, #(#values),*));
        }
        Shape::DataEnum { .. } | Shape::Struct(_) | Shape::Newtype(_) => {}
    }
    quote!(::std::string::String::from(#doc))
}

/// A `FieldDef` literal.
fn field_def(k: &syn::Path, name: &str, ty: TokenStream, doc: &str) -> TokenStream {
    quote! {
        #k::FieldDef {
            name: ::std::string::String::from(#name),
            ty: #ty,
            doc: ::std::string::String::from(#doc),
        }
    }
}

/// The class of a data enum: the tag, then every key any variant uses, each optional
/// (present only for some variants), merged by name.
fn data_enum_class(
    k: &syn::Path,
    dir: Direction,
    tag: &str,
    variants: &[DataVariant],
) -> TokenStream {
    let tags = variants.iter().map(|v| &v.lua_name);
    let mut tag_doc = String::from("The variant.");
    for v in variants.iter().filter(|v| !v.doc.is_empty()) {
        tag_doc.push_str(&format!("\n\"{}\": {}", v.lua_name, v.doc));
    }
    let tag_ty = quote!(#k::LuaType::Union(::std::vec::Vec::from([#(#k::LuaType::Literal(::std::string::String::from(#tags))),*])));
    let mut defs = vec![field_def(k, tag, tag_ty, &tag_doc)];
    // Keys in first-use order, each with the (field, variant) pairs that use it.
    let mut keys: Vec<(&str, Vec<(&Field, &DataVariant)>)> = Vec::new();
    for v in variants {
        let fields: Vec<&Field> = match &v.kind {
            VariantKind::Unit => Vec::new(),
            VariantKind::Newtype(f) => vec![&**f],
            VariantKind::Struct(fs) => fs.iter().filter(|f| !f.skip).collect(),
        };
        for f in fields {
            match keys.iter_mut().find(|(name, _)| *name == f.lua_name) {
                Some((_, users)) => users.push((f, v)),
                None => keys.push((&f.lua_name, vec![(f, v)])),
            }
        }
    }
    for (name, users) in keys {
        let types = users.iter().map(|(f, _)| field_lua_type(k, dir, &f.ty));
        let ty = if users.len() == 1 {
            optional(k, quote!(#(#types)*))
        } else {
            quote!({
                let mut __types = ::std::vec::Vec::new();
                for __t in [#(#types),*] {
                    let __t = match __t {
                        #k::LuaType::Optional(__inner) => *__inner,
                        __t => __t,
                    };
                    if !__types.contains(&__t) {
                        __types.push(__t);
                    }
                }
                let __t = if __types.len() == 1 { __types.remove(0) } else { #k::LuaType::Union(__types) };
                #k::LuaType::Optional(::std::boxed::Box::new(__t))
            })
        };
        let docs: Vec<&str> = users
            .iter()
            .map(|(f, _)| f.doc.as_str())
            .filter(|d| !d.is_empty())
            .collect();
        let when: Vec<String> = users
            .iter()
            .map(|(_, v)| format!("\"{}\"", v.lua_name))
            .collect();
        let mut doc = docs.first().map_or_else(String::new, |d| format!("{d}\n"));
        doc.push_str(&format!("Present when `{tag}` is {}.", when.join(" or ")));
        defs.push(field_def(k, name, ty, &doc));
    }
    quote!(#k::ClassKind::Class(::std::vec::Vec::from([#(#defs),*])))
}
