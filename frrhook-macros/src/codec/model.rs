//! The validated description of a type to derive for: every Lua name resolved, every
//! option checked against the shape it is used on.
use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use super::case::RenameRule;
use super::parse::{self, ContainerOptions, Errors, Repr};

/// The key holding the data of a newtype variant: `{ type = "V", value = ... }`.
pub(crate) const NEWTYPE_VARIANT_KEY: &str = "value";

/// The tag key of data enums unless `#[lua(tag = "...")]` says otherwise.
pub(crate) const DEFAULT_TAG: &str = "type";

/// A type ready for code generation.
pub(crate) struct Model {
    /// The type's name.
    pub ident: Ident,
    /// Its generics, as written.
    pub generics: Generics,
    /// Path of the codec crate (`::frrhook::codec` unless `crate = ...`).
    pub krate: syn::Path,
    /// The Lua class name (`rename`, or the Rust name).
    pub class_name: String,
    /// The type's doc comment.
    pub doc: String,
    /// Only `LuaEncode` is derived: the type has lifetime parameters, so it borrows,
    /// and a borrowed value cannot be made from Lua.
    pub encode_only: bool,
    /// What the type looks like.
    pub shape: Shape,
}

/// The Lua shape of the type.
pub(crate) enum Shape {
    /// A struct with named fields: a table with one key per field.
    Struct(Vec<Field>),
    /// `struct Asn(u32);`: exactly the inner value.
    Newtype(Type),
    /// An enum of unit variants: strings, or integers with `repr = "integer"`.
    UnitEnum {
        /// How the variants are represented.
        repr: Repr,
        /// The variants, in declaration order.
        variants: Vec<UnitVariant>,
    },
    /// An enum with data: tables tagged with the variant name.
    DataEnum {
        /// The tag key.
        tag: String,
        /// The variants, in declaration order.
        variants: Vec<DataVariant>,
    },
}

/// A named field of a struct or struct variant.
pub(crate) struct Field {
    /// The Rust field name.
    pub member: Ident,
    /// Its type.
    pub ty: Type,
    /// The Lua key.
    pub lua_name: String,
    /// Its doc comment.
    pub doc: String,
    /// `#[lua(skip)]`: absent from Lua, `Default::default()` on decode.
    pub skip: bool,
    /// The type is `Option<_>` (by its last path segment): absent means `None`.
    pub optional: bool,
    /// `#[lua(default)]`: what an absent key decodes to.
    pub default: Option<FieldDefault>,
}

impl Field {
    /// The span to put on code generated for this field: its type.
    pub(crate) fn span(&self) -> Span {
        self.ty.span()
    }
}

/// What an absent key with `#[lua(default ...)]` decodes to.
pub(crate) enum FieldDefault {
    /// `Default::default()`.
    Trait,
    /// `path()`, spanned on the option.
    Function(syn::Path, Span),
}

/// A variant of a unit-only enum.
pub(crate) struct UnitVariant {
    /// The Rust name.
    pub ident: Ident,
    /// The Lua string.
    pub lua_name: String,
    /// The doc comment.
    pub doc: String,
    /// `#[lua(value = N)]`, overriding the discriminant in integer form.
    pub value: Option<i64>,
}

/// A variant of an enum with data.
pub(crate) struct DataVariant {
    /// The Rust name.
    pub ident: Ident,
    /// The tag value.
    pub lua_name: String,
    /// The doc comment.
    pub doc: String,
    /// Its data.
    pub kind: VariantKind,
}

/// The data of a variant.
pub(crate) enum VariantKind {
    /// `V`: `{ type = "V" }`.
    Unit,
    /// `V(T)`: `{ type = "V", value = ... }`.
    Newtype(Box<Field>),
    /// `V { a: T }`: `{ type = "V", a = ... }`.
    Struct(Vec<Field>),
}

/// A failed derive: the errors, and the codec path for the fallback impls.
pub(crate) struct Failure {
    /// Every error found.
    pub error: syn::Error,
    /// The codec crate path, as far as it could be read.
    pub krate: syn::Path,
}

/// Validates `input` into a [`Model`], reporting every problem at once.
pub(crate) fn build(input: &DeriveInput) -> Result<Model, Failure> {
    let mut errors = Errors::default();
    let options = parse::container(&input.attrs, &mut errors);
    let krate = options
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::frrhook::codec));
    let shape = shape(input, &options, &mut errors);
    let encode_only = input.generics.lifetimes().next().is_some();
    match (errors.finish(), shape) {
        (Ok(()), Some(shape)) => Ok(Model {
            ident: input.ident.clone(),
            generics: input.generics.clone(),
            krate,
            class_name: options
                .rename
                .map_or_else(|| input.ident.unraw().to_string(), |r| r.value()),
            doc: parse::doc(&input.attrs),
            encode_only,
            shape,
        }),
        (Err(error), _) => Err(Failure { error, krate }),
        (Ok(()), None) => unreachable!("a missing shape always comes with an error"),
    }
}

/// Works out the shape, recording errors; `None` only when an error was recorded.
fn shape(input: &DeriveInput, options: &ContainerOptions, errors: &mut Errors) -> Option<Shape> {
    match &input.data {
        Data::Struct(data) => {
            let name = &input.ident;
            let struct_token = data.struct_token;
            reject_enum_options(options, errors);
            match &data.fields {
                Fields::Named(named) => {
                    let fields = named_fields(named.named.iter(), options.rename_all, errors);
                    check_unique(&fields, None, errors);
                    Some(Shape::Struct(fields))
                }
                Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                    let field = &unnamed.unnamed[0];
                    parse::reject_all(
                        &field.attrs,
                        "a newtype struct is encoded exactly as its inner value, so field options \
                         do not apply; remove this attribute",
                        errors,
                    );
                    for (set, what) in [
                        (options.rename.as_ref().map(|r| r.span()), "rename"),
                        (options.rename_all.map(|r| r.1), "rename_all"),
                    ] {
                        if let Some(span) = set {
                            errors.at(
                                span,
                                format!(
                                    "`{what}` does not apply to a newtype struct: it is encoded exactly \
                                     as its inner value, with no class or keys of its own; remove it"
                                ),
                            );
                        }
                    }
                    Some(Shape::Newtype(field.ty.clone()))
                }
                Fields::Unnamed(unnamed) => {
                    errors.push(syn::Error::new_spanned(
                        quote::quote!(#struct_token #name),
                        format!(
                            "`#[derive(LuaCodec)]` does not support tuple structs with {} fields: \
                             Lua tables need key names; use named fields \
                             (`struct {name} {{ a: A, b: B }}`) or a newtype (`struct {name}(T);`)",
                            unnamed.unnamed.len()
                        ),
                    ));
                    None
                }
                Fields::Unit => {
                    errors.push(syn::Error::new_spanned(
                        quote::quote!(#struct_token #name),
                        format!(
                            "`#[derive(LuaCodec)]` does not support unit structs: there is no data \
                             to pass to Lua; use named fields (`struct {name} {{ a: A }}`), or a \
                             unit variant of an enum"
                        ),
                    ));
                    None
                }
            }
        }
        Data::Enum(data) => enum_shape(data, options, errors),
        Data::Union(data) => {
            errors.push(syn::Error::new_spanned(
                data.union_token,
                "`#[derive(LuaCodec)]` does not support unions: which field holds the value is not \
                 known; use an enum with data variants",
            ));
            None
        }
    }
}

/// Reports `repr` and `tag` on a struct.
fn reject_enum_options(options: &ContainerOptions, errors: &mut Errors) {
    if let Some((_, span)) = options.repr {
        errors.at(
            span,
            "`repr` applies only to enums of unit variants; remove it",
        );
    }
    if let Some(tag) = &options.tag {
        errors.at(
            tag.span(),
            "`tag` applies only to enums with data variants; remove it",
        );
    }
}

/// Builds the fields of a struct or struct variant.
fn named_fields<'a>(
    fields: impl Iterator<Item = &'a syn::Field>,
    rename_all: Option<(RenameRule, Span)>,
    errors: &mut Errors,
) -> Vec<Field> {
    fields
        .map(|f| {
            let o = parse::field(&f.attrs, errors);
            let member = f.ident.clone().expect("named fields have names");
            let rust_name = member.unraw().to_string();
            let lua_name = match (&o.rename, rename_all) {
                (Some(r), _) => r.value(),
                (None, Some((rule, _))) => rule.apply(&rust_name),
                (None, None) => rust_name,
            };
            Field {
                member,
                ty: f.ty.clone(),
                lua_name,
                doc: parse::doc(&f.attrs),
                skip: o.skip.is_some(),
                optional: is_option(&f.ty),
                default: o.default.map(|d| match d.function {
                    Some(path) => FieldDefault::Function(path, d.span),
                    None => FieldDefault::Trait,
                }),
            }
        })
        .collect()
}

/// Reports two fields with one Lua key, or a field using the tag key.
fn check_unique(fields: &[Field], tag: Option<&str>, errors: &mut Errors) {
    let mut seen = BTreeMap::new();
    for f in fields.iter().filter(|f| !f.skip) {
        if tag == Some(f.lua_name.as_str()) {
            errors.at(
                f.member.span(),
                format!(
                    "field `{}` uses the Lua key \"{}\", which holds the variant tag; rename the \
                     field (`#[lua(rename = \"...\")]`) or choose another tag (`#[lua(tag = \"...\")]`)",
                    f.member, f.lua_name
                ),
            );
        } else if let Some(first) = seen.insert(f.lua_name.clone(), &f.member) {
            errors.at(
                f.member.span(),
                format!(
                    "fields `{first}` and `{}` both use the Lua key \"{}\"; rename one",
                    f.member, f.lua_name
                ),
            );
        }
    }
}

/// Whether `ty` is syntactically `Option<_>` (`Option`, `std::option::Option`, ...).
fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.ident == "Option" && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
        }),
        Type::Group(g) => is_option(&g.elem),
        Type::Paren(p) => is_option(&p.elem),
        _ => false,
    }
}

/// Builds the shape of an enum: unit-only (strings or integers) or tagged tables.
fn enum_shape(
    data: &syn::DataEnum,
    options: &ContainerOptions,
    errors: &mut Errors,
) -> Option<Shape> {
    if data.variants.is_empty() {
        errors.push(syn::Error::new_spanned(
            data.enum_token,
            "`#[derive(LuaCodec)]` does not support enums without variants: no value exists to \
             pass to Lua; add a variant",
        ));
        return None;
    }
    let rename = |ident: &Ident, o: &parse::VariantOptions| match (&o.rename, options.rename_all) {
        (Some(r), _) => r.value(),
        (None, Some((rule, _))) => rule.apply(&ident.unraw().to_string()),
        (None, None) => ident.unraw().to_string(),
    };
    let all_unit = data
        .variants
        .iter()
        .all(|v| matches!(v.fields, Fields::Unit));
    let repr = options.repr.map_or(Repr::String, |r| r.0);
    if all_unit && options.tag.is_none() {
        let variants: Vec<UnitVariant> = data
            .variants
            .iter()
            .map(|v| {
                let o = parse::variant(&v.attrs, errors);
                if let (Some((_, span)), Repr::String) = (o.value, repr) {
                    errors.at(
                        span,
                        "`value` applies only to enums with `#[lua(repr = \"integer\")]`; add that \
                         to the enum or remove `value`",
                    );
                }
                UnitVariant {
                    lua_name: rename(&v.ident, &o),
                    ident: v.ident.clone(),
                    doc: parse::doc(&v.attrs),
                    value: o.value.map(|v| v.0),
                }
            })
            .collect();
        if repr == Repr::String {
            check_unique_variants(variants.iter().map(|v| (&v.ident, &v.lua_name)), errors);
        }
        return Some(Shape::UnitEnum { repr, variants });
    }
    if all_unit && let Some(tag) = &options.tag {
        errors.at(
            tag.span(),
            "`tag` applies only to enums with data variants; this enum has only unit variants, \
             which are encoded as strings; remove `tag`",
        );
    }
    if let Some((Repr::Integer, _)) = options.repr {
        for v in data
            .variants
            .iter()
            .filter(|v| !matches!(v.fields, Fields::Unit))
        {
            errors.push(syn::Error::new_spanned(
                v,
                format!(
                    "`repr = \"integer\"` needs unit variants only, but `{}` carries data; remove \
                     `repr` to encode this enum as tagged tables, or make `{}` a unit variant",
                    v.ident, v.ident
                ),
            ));
        }
    } else if let Some((Repr::String, span)) = options.repr {
        errors.at(
            span,
            "`repr = \"string\"` needs unit variants only; an enum with data variants is encoded \
             as tagged tables; remove `repr`",
        );
    }
    let tag = options
        .tag
        .as_ref()
        .map_or_else(|| DEFAULT_TAG.to_string(), |t| t.value());
    let variants: Vec<DataVariant> = data
        .variants
        .iter()
        .map(|v| {
            let o = parse::variant(&v.attrs, errors);
            if let Some((_, span)) = o.value {
                errors.at(
                    span,
                    "`value` applies only to enums of unit variants with `#[lua(repr = \"integer\")]`; \
                     remove it",
                );
            }
            let kind = match &v.fields {
                Fields::Unit => VariantKind::Unit,
                Fields::Named(named) => {
                    let fields = named_fields(named.named.iter(), None, errors);
                    check_unique(&fields, Some(&tag), errors);
                    VariantKind::Struct(fields)
                }
                Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                    let f = &unnamed.unnamed[0];
                    parse::reject_all(
                        &f.attrs,
                        "the field of a newtype variant is always the key \"value\", so field \
                         options do not apply; remove this attribute",
                        errors,
                    );
                    VariantKind::Newtype(Box::new(Field {
                        member: Ident::new("value", Span::call_site()),
                        ty: f.ty.clone(),
                        lua_name: NEWTYPE_VARIANT_KEY.to_string(),
                        doc: parse::doc(&f.attrs),
                        skip: false,
                        optional: is_option(&f.ty),
                        default: None,
                    }))
                }
                Fields::Unnamed(unnamed) => {
                    errors.push(syn::Error::new_spanned(
                        v,
                        format!(
                            "tuple variant `{}` has {} fields, which have no Lua key names; use \
                             named fields (`{} {{ a: A, b: B }}`) or a single field (`{}(T)`)",
                            v.ident,
                            unnamed.unnamed.len(),
                            v.ident,
                            v.ident
                        ),
                    ));
                    VariantKind::Unit
                }
            };
            DataVariant { lua_name: rename(&v.ident, &o), ident: v.ident.clone(), doc: parse::doc(&v.attrs), kind }
        })
        .collect();
    check_unique_variants(variants.iter().map(|v| (&v.ident, &v.lua_name)), errors);
    Some(Shape::DataEnum { tag, variants })
}

/// Reports two variants with one Lua name.
fn check_unique_variants<'a>(
    variants: impl Iterator<Item = (&'a Ident, &'a String)>,
    errors: &mut Errors,
) {
    let mut seen = BTreeMap::new();
    for (ident, name) in variants {
        if let Some(first) = seen.insert(name.clone(), ident) {
            errors.at(
                ident.span(),
                format!(
                    "variants `{first}` and `{ident}` both use the Lua name \"{name}\"; rename one"
                ),
            );
        }
    }
}
