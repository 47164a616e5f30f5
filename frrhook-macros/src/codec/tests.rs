//! Expansion snapshots and error messages of `#[derive(LuaCodec)]`.
use proc_macro2::TokenStream;
use quote::quote;

use super::derive;

/// The expansion of `input`, pretty-printed.
fn pretty(input: TokenStream) -> String {
    let output = derive(input);
    let file: syn::File = syn::parse2(output.clone()).unwrap_or_else(|e| panic!("{e}: {output}"));
    prettyplease::unparse(&file)
}

/// The `compile_error!` messages of the expansion of `input`, in order.
fn errors(input: TokenStream) -> Vec<String> {
    let file: syn::File = syn::parse2(derive(input)).expect("expansion parses");
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "compile_error") =>
            {
                let lit: syn::LitStr = m.mac.parse_body().expect("a string");
                Some(lit.value())
            }
            _ => None,
        })
        .collect()
}

/// The impl blocks of the expansion of `input`, as `Trait for Type`.
fn impls(input: TokenStream) -> Vec<String> {
    let file: syn::File = syn::parse2(derive(input)).expect("expansion parses");
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(i) => {
                let (path, _) = i.trait_.as_ref()?;
                let last = &path.segments.last()?.ident;
                let ty = &i.self_ty;
                Some(format!("{last} for {}", quote!(#ty)))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn route_expansion() {
    insta::assert_snapshot!(pretty(quote! {
        /// A BGP route.
        struct Route {
            /// The destination.
            prefix: Prefix,
            #[lua(rename = "local_pref")]
            preference: u32,
            med: Option<u32>,
            communities: Vec<String>,
            #[lua(default)]
            origin: Origin,
            #[lua(skip)]
            cache: u64,
        }
    }));
}

#[test]
fn enum_expansions() {
    insta::assert_snapshot!(
        "unit_enum",
        pretty(quote! {
            #[lua(rename_all = "lowercase")]
            enum Origin { Igp, Egp, #[lua(rename = "?")] Incomplete }
        })
    );
    insta::assert_snapshot!(
        "integer_enum",
        pretty(quote! {
            #[lua(repr = "integer", crate = "frrhook_codec")]
            enum Action { Failure = 1, NoMatch, #[lua(value = 9)] Match }
        })
    );
    insta::assert_snapshot!(
        "data_enum",
        pretty(quote! {
            #[lua(tag = "kind")]
            enum Change { Drop, SetMed(u32), Prepend { asn: u32, times: Option<u8> } }
        })
    );
    insta::assert_snapshot!(
        "newtype_generic",
        pretty(quote! {
            struct Tagged<T>(T);
        })
    );
}

#[test]
fn unknown_options_suggest_and_list() {
    assert_eq!(
        errors(quote! { struct S { #[lua(renam = "x")] a: u32 } }),
        ["unknown option `renam`; did you mean `rename`? accepted: rename, skip, default"]
    );
    assert_eq!(
        errors(quote! { #[lua(tagg = "k")] enum E { A(u8) } }),
        [
            "unknown option `tagg`; did you mean `tag`? accepted: crate, rename, rename_all, repr, tag"
        ]
    );
    assert_eq!(
        errors(quote! { struct S { #[lua(flatten)] a: u32 } }),
        ["unknown option `flatten`; accepted: rename, skip, default"]
    );
    assert_eq!(
        errors(quote! { #[lua(skip)] struct S { a: u32 } }),
        [
            "option `skip` does not apply to the type: it goes on a field; accepted here: crate, rename, rename_all, repr, tag"
        ]
    );
    assert_eq!(
        errors(quote! { #[lua(rename_all = "snake-case")] enum E { A } }),
        [
            "unknown value \"snake-case\"; did you mean \"snake_case\"? accepted: \"lowercase\", \"UPPERCASE\", \
             \"snake_case\", \"kebab-case\", \"SCREAMING_SNAKE_CASE\", \"SCREAMING-KEBAB-CASE\", \
             \"camelCase\", \"PascalCase\""
        ]
    );
    assert_eq!(
        errors(quote! { #[lua(repr = "int")] enum E { A } }),
        ["unknown value \"int\"; accepted: \"string\", \"integer\""]
    );
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let errs = errors(quote! {
        struct S {
            #[lua(skip, rename = "b")] a: u32,
            #[lua(default, skip)] b: u32,
            #[lua(rename = "x", rename = "y")] c: u32,
            #[lua(skip = 1, defualt)] d: u32,
            #[lua(rename = 5)] e: u32,
            #[lua] f: u32,
        }
    });
    assert_eq!(
        errs,
        [
            "`skip` and `rename` together make no sense: a skipped field has no Lua key; remove one",
            "`skip` and `default` together make no sense: a skipped field is always `Default::default()` \
             when decoded; remove one",
            "duplicate option `rename`: it is already set for this item; remove one",
            "`skip` takes no value: write `#[lua(skip)]`",
            "unknown option `defualt`; did you mean `default`? accepted: rename, skip, default",
            "expected a string: `rename = \"key\"`",
            "expected `#[lua(option, ...)]`; accepted on a field: rename, skip, default",
        ]
    );
}

#[test]
fn unsupported_shapes() {
    assert_eq!(
        errors(quote! { struct P(u32, u32); }),
        [
            "`#[derive(LuaCodec)]` does not support tuple structs with 2 fields: Lua tables need key names; \
          use named fields (`struct P { a: A, b: B }`) or a newtype (`struct P(T);`)"
        ]
    );
    assert_eq!(
        errors(quote! { struct U; }),
        [
            "`#[derive(LuaCodec)]` does not support unit structs: there is no data to pass to Lua; use named \
          fields (`struct U { a: A }`), or a unit variant of an enum"
        ]
    );
    assert_eq!(
        errors(quote! { union X { a: u32, b: f32 } }),
        [
            "`#[derive(LuaCodec)]` does not support unions: which field holds the value is not known; use an \
          enum with data variants"
        ]
    );
    assert_eq!(
        errors(quote! { #[lua(repr = "integer")] enum E { A, B(u8), C { x: u8 } } }),
        [
            "`repr = \"integer\"` needs unit variants only, but `B` carries data; remove `repr` to encode \
             this enum as tagged tables, or make `B` a unit variant",
            "`repr = \"integer\"` needs unit variants only, but `C` carries data; remove `repr` to encode \
             this enum as tagged tables, or make `C` a unit variant",
        ]
    );
    assert_eq!(
        errors(quote! { enum E { A(u8, u8) } }),
        [
            "tuple variant `A` has 2 fields, which have no Lua key names; use named fields (`A { a: A, b: B }`) \
          or a single field (`A(T)`)"
        ]
    );
    assert_eq!(
        errors(quote! { enum E { A { r#type: u8 } } }),
        [
            "field `r#type` uses the Lua key \"type\", which holds the variant tag; rename the field \
          (`#[lua(rename = \"...\")]`) or choose another tag (`#[lua(tag = \"...\")]`)"
        ]
    );
    assert_eq!(
        errors(quote! { struct S { a: u8, #[lua(rename = "a")] b: u8 } }),
        ["fields `a` and `b` both use the Lua key \"a\"; rename one"]
    );
    assert_eq!(
        errors(quote! { enum E { A, #[lua(rename = "A")] B } }),
        ["variants `A` and `B` both use the Lua name \"A\"; rename one"]
    );
    assert_eq!(
        errors(quote! { #[lua(tag = "kind")] enum E { A, B } }),
        [
            "`tag` applies only to enums with data variants; this enum has only unit variants, which are \
          encoded as strings; remove `tag`"
        ]
    );
    assert_eq!(
        errors(quote! { enum E { #[lua(value = 3)] A } }),
        [
            "`value` applies only to enums with `#[lua(repr = \"integer\")]`; add that to the enum or remove `value`"
        ]
    );
    assert_eq!(
        errors(quote! { #[lua(rename = "N")] struct N(#[lua(skip)] u8); }),
        [
            "a newtype struct is encoded exactly as its inner value, so field options do not apply; remove \
             this attribute",
            "`rename` does not apply to a newtype struct: it is encoded exactly as its inner value, with no \
             class or keys of its own; remove it",
        ]
    );
}

#[test]
fn errors_come_with_fallback_impls() {
    assert_eq!(
        impls(quote! { #[lua(crate = "c", bogus)] struct S<T> { a: T } }),
        ["LuaEncode for S < T >", "LuaDecode for S < T >"]
    );
    let out = pretty(quote! { #[lua(crate = "c", bogus)] struct S { a: u8 } });
    assert!(out.contains("impl c::LuaDecode for S"), "{out}");
    assert!(out.contains("::core::unreachable!"), "{out}");
}

#[test]
fn lifetimes_derive_encode_only() {
    assert_eq!(
        impls(quote! { struct View<'a> { name: &'a str } }),
        ["LuaEncode for View < 'a >", "LuaFields for View < 'a >"]
    );
}
