//! `#[lua(...)]` attributes → options.
//!
//! Parsing never stops at the first mistake: every bad option is recorded in
//! [`Errors`] and the rest of the attribute is still read, so one compile reports all
//! of them. Unknown options are answered the way syn's lookahead answers a bad token:
//! with the list of what is accepted at that place, and the closest spelling.
use proc_macro2::{Span, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Lit, LitInt, LitStr, Meta, Token};

use super::case::RenameRule;

/// Accumulates errors so that they are reported together (`syn::Error::combine`).
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `error` beside the ones already recorded.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records a new error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// `Err` with every recorded error, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Where an attribute sits; each place accepts its own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On the struct or enum itself.
    Container,
    /// On a named field of a struct or of a struct variant.
    Field,
    /// On an enum variant.
    Variant,
}

impl Place {
    const ALL: [Place; 3] = [Place::Container, Place::Field, Place::Variant];

    /// The options accepted here.
    fn accepted(self) -> &'static [&'static str] {
        match self {
            Place::Container => &["crate", "rename", "rename_all", "repr", "tag"],
            Place::Field => &["rename", "skip", "default"],
            Place::Variant => &["rename", "value"],
        }
    }

    /// How error messages name the place.
    fn noun(self) -> &'static str {
        match self {
            Place::Container => "the type",
            Place::Field => "a field",
            Place::Variant => "a variant",
        }
    }
}

/// How a unit-only enum is represented in Lua.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repr {
    /// The variant name as a string (the default).
    String,
    /// The discriminant as an integer.
    Integer,
}

/// Options on the struct or enum.
#[derive(Default)]
pub(crate) struct ContainerOptions {
    /// `crate = "path"`: where the codec crate is.
    pub krate: Option<syn::Path>,
    /// `rename = "Name"`: the Lua class name.
    pub rename: Option<LitStr>,
    /// `rename_all = "snake_case"`, with the span of its value.
    pub rename_all: Option<(RenameRule, Span)>,
    /// `repr = "integer"`, with the span of the option.
    pub repr: Option<(Repr, Span)>,
    /// `tag = "kind"`: the tag key of data enums.
    pub tag: Option<LitStr>,
}

/// `default` or `default = "path::to::fn"` on a field.
pub(crate) struct DefaultOption {
    /// Where the option was written.
    pub span: Span,
    /// The function to call; `Default::default` when absent.
    pub function: Option<syn::Path>,
}

/// Options on a field.
#[derive(Default)]
pub(crate) struct FieldOptions {
    /// `rename = "key"`: the Lua key.
    pub rename: Option<LitStr>,
    /// `skip`: not in Lua at all; the span of the option.
    pub skip: Option<Span>,
    /// `default`: used when the key is absent.
    pub default: Option<DefaultOption>,
}

/// Options on an enum variant.
#[derive(Default)]
pub(crate) struct VariantOptions {
    /// `rename = "name"`: the Lua string (or tag).
    pub rename: Option<LitStr>,
    /// `value = N`: the integer with `repr = "integer"`, and its span.
    pub value: Option<(i64, Span)>,
}

/// Reads the container's `#[lua(...)]` attributes.
pub(crate) fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerOptions {
    let mut o = ContainerOptions::default();
    each_option(attrs, Place::Container, errors, |name, meta| match name {
        "crate" => {
            let path = path_value(meta, "crate = \"frrhook::codec\"")?;
            set(&mut o.krate, path, meta)
        }
        "rename" => set(
            &mut o.rename,
            str_value(meta, "rename = \"ClassName\"")?,
            meta,
        ),
        "rename_all" => {
            let lit = str_value(meta, "rename_all = \"snake_case\"")?;
            let rule = RenameRule::from_name(&lit.value()).ok_or_else(|| {
                let names: Vec<&str> = RenameRule::ALL.iter().map(|(n, _)| *n).collect();
                bad_value(&lit, &names)
            })?;
            set(&mut o.rename_all, (rule, lit.span()), meta)
        }
        "repr" => {
            let lit = str_value(meta, "repr = \"integer\"")?;
            let repr = match lit.value().as_str() {
                "string" => Repr::String,
                "integer" => Repr::Integer,
                _ => return Err(bad_value(&lit, &["string", "integer"])),
            };
            set(
                &mut o.repr,
                (repr, meta.path.segments[0].ident.span()),
                meta,
            )
        }
        "tag" => set(&mut o.tag, str_value(meta, "tag = \"kind\"")?, meta),
        _ => unreachable!("each_option passes accepted names only"),
    });
    o
}

/// Reads a field's `#[lua(...)]` attributes and checks that they fit together.
pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldOptions {
    let mut o = FieldOptions::default();
    each_option(attrs, Place::Field, errors, |name, meta| match name {
        "rename" => set(&mut o.rename, str_value(meta, "rename = \"key\"")?, meta),
        "skip" => {
            no_value(meta)?;
            set(&mut o.skip, meta.path.segments[0].ident.span(), meta)
        }
        "default" => {
            let span = meta.path.segments[0].ident.span();
            let function = if meta.input.peek(Token![=]) {
                Some(path_value(meta, "default = \"path::to::function\"")?)
            } else {
                no_value(meta)?;
                None
            };
            set(&mut o.default, DefaultOption { span, function }, meta)
        }
        _ => unreachable!("each_option passes accepted names only"),
    });
    if let Some(skip) = o.skip {
        if o.rename.is_some() {
            errors.at(
                skip,
                "`skip` and `rename` together make no sense: a skipped field has no Lua key; remove one",
            );
        }
        if o.default.is_some() {
            errors.at(
                skip,
                "`skip` and `default` together make no sense: a skipped field is always \
                 `Default::default()` when decoded; remove one",
            );
        }
    }
    o
}

/// Reads a variant's `#[lua(...)]` attributes.
pub(crate) fn variant(attrs: &[Attribute], errors: &mut Errors) -> VariantOptions {
    let mut o = VariantOptions::default();
    each_option(attrs, Place::Variant, errors, |name, meta| match name {
        "rename" => set(&mut o.rename, str_value(meta, "rename = \"name\"")?, meta),
        "value" => {
            let span = meta.path.segments[0].ident.span();
            let n = int_value(meta)?;
            set(&mut o.value, (n, span), meta)
        }
        _ => unreachable!("each_option passes accepted names only"),
    });
    o
}

/// Reports every `#[lua(...)]` option of a place (newtype fields, tuple variant
/// fields) that accepts none.
pub(crate) fn reject_all(attrs: &[Attribute], why: &str, errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("lua")) {
        errors.push(syn::Error::new_spanned(attr, why));
    }
}

/// The doc comment written on an item (`///` lines), with the one leading space of
/// each line removed, trimmed.
pub(crate) fn doc(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if let Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(lit) = &nv.value
            && let Lit::Str(s) = &lit.lit
        {
            let text = s.value();
            for line in text.lines() {
                lines.push(
                    line.strip_prefix(' ')
                        .unwrap_or(line)
                        .trim_end()
                        .to_string(),
                );
            }
        }
    }
    lines.join("\n").trim().to_string()
}

/// Calls `handle` with each accepted option of each `#[lua(...)]` attribute; records
/// unknown options and handler errors, skipping to the next option after each.
fn each_option(
    attrs: &[Attribute],
    place: Place,
    errors: &mut Errors,
    mut handle: impl FnMut(&str, &ParseNestedMeta) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("lua")) {
        if !matches!(attr.meta, Meta::List(_)) {
            errors.push(syn::Error::new_spanned(
                attr,
                format!(
                    "expected `#[lua(option, ...)]`; accepted on {}: {}",
                    place.noun(),
                    place.accepted().join(", ")
                ),
            ));
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let name = match meta.path.get_ident() {
                Some(ident) => ident.to_string(),
                None => path_text(&meta.path),
            };
            let outcome = if place.accepted().contains(&name.as_str()) {
                handle(&name, &meta)
            } else {
                Err(unknown_option(&meta, &name, place))
            };
            if let Err(error) = outcome {
                errors.push(error);
                skip_to_next_option(&meta)?;
            }
            Ok(())
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
}

/// `a::b` as written, for messages.
fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Consumes what is left of the current option, up to the next `,`.
fn skip_to_next_option(meta: &ParseNestedMeta) -> syn::Result<()> {
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        meta.input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// The error for an option not accepted at `place`: what is accepted, the closest
/// spelling, or where the option belongs when it belongs elsewhere.
fn unknown_option(meta: &ParseNestedMeta, name: &str, place: Place) -> syn::Error {
    let accepted = place.accepted().join(", ");
    let elsewhere = Place::ALL.iter().find(|p| p.accepted().contains(&name));
    let message = if let Some(other) = elsewhere {
        format!(
            "option `{name}` does not apply to {}: it goes on {}; accepted here: {accepted}",
            place.noun(),
            other.noun()
        )
    } else if let Some(close) = closest(name, place.accepted()) {
        format!("unknown option `{name}`; did you mean `{close}`? accepted: {accepted}")
    } else {
        format!("unknown option `{name}`; accepted: {accepted}")
    };
    syn::Error::new_spanned(&meta.path, message)
}

/// An error on a string value that is not one of `accepted`.
fn bad_value(lit: &LitStr, accepted: &[&str]) -> syn::Error {
    let value = lit.value();
    let list = accepted
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let message = match closest(&value, accepted) {
        Some(close) => {
            format!("unknown value \"{value}\"; did you mean \"{close}\"? accepted: {list}")
        }
        None => format!("unknown value \"{value}\"; accepted: {list}"),
    };
    syn::Error::new(lit.span(), message)
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a
/// misspelling.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let folded = name.to_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&folded, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Stores an option's value, or reports it as given twice.
fn set<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta) -> syn::Result<()> {
    if slot.is_some() {
        let name = path_text(&meta.path);
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("duplicate option `{name}`: it is already set for this item; remove one"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Rejects `= ...` or `(...)` after a flag option.
fn no_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Ok(())
    } else {
        let name = path_text(&meta.path);
        Err(meta.error(format!("`{name}` takes no value: write `#[lua({name})]`")))
    }
}

/// Reads `= "text"`; `example` shows the expected form in the error.
fn str_value(meta: &ParseNestedMeta, example: &str) -> syn::Result<LitStr> {
    let expected = || meta.error(format!("expected a string: `{example}`"));
    if !meta.input.peek(Token![=]) {
        return Err(expected());
    }
    let input = meta.value()?;
    if input.peek(LitStr) {
        input.parse()
    } else {
        Err(expected())
    }
}

/// Reads `= "a::path"` or `= a::path`.
fn path_value(meta: &ParseNestedMeta, example: &str) -> syn::Result<syn::Path> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("expected a path: `{example}`")));
    }
    let input = meta.value()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        lit.parse::<syn::Path>()
            .map_err(|_| syn::Error::new(lit.span(), format!("expected a path: `{example}`")))
    } else {
        input.parse::<syn::Path>()
    }
}

/// Reads `= N` or `= -N` as an `i64`.
fn int_value(meta: &ParseNestedMeta) -> syn::Result<i64> {
    let expected = || meta.error("expected an integer: `value = 3`");
    if !meta.input.peek(Token![=]) {
        return Err(expected());
    }
    let input = meta.value()?;
    let negative = input.parse::<Option<Token![-]>>()?.is_some();
    if !input.peek(LitInt) {
        return Err(expected());
    }
    let lit: LitInt = input.parse()?;
    let text = if negative {
        format!("-{}", lit.base10_digits())
    } else {
        lit.base10_digits().to_string()
    };
    text.parse::<i64>()
        .map_err(|_| syn::Error::new(lit.span(), "the value must fit in a Lua integer (i64)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_suggestion() {
        assert_eq!(edit_distance("renam", "rename"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("renam", Place::Field.accepted()), Some("rename"));
        assert_eq!(closest("defualt", Place::Field.accepted()), Some("default"));
        assert_eq!(closest("xyz", Place::Field.accepted()), None);
        assert_eq!(closest("snake", &["snake_case", "lowercase"]), None);
        assert_eq!(
            closest("snake-case", &["snake_case", "kebab-case"]),
            Some("snake_case")
        );
    }
}
