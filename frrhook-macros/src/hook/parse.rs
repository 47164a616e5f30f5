//! Parse: the attribute's options and the annotated signature, as written.
//!
//! Nothing is validated here beyond syntax; [`super::model`] checks the meaning. Errors are
//! spanned on the user's tokens and collected, so that several mistakes are reported in
//! one compile.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, LitInt, LitStr, Path, Signature, Token, Type, Visibility};

use super::Errors;

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(results);
    syn::custom_keyword!(consts);
    syn::custom_keyword!(on_error);
    syn::custom_keyword!(fail_closed);
    syn::custom_keyword!(defaults);
}

/// The options of `#[hook_point(...)]`, each with the tokens it came from.
#[derive(Default)]
pub struct Options {
    /// `name = "bgp.route_match"`.
    pub name: Option<LitStr>,
    /// `results(...)`; `None` when absent.
    pub results: Option<Vec<RawResult>>,
    /// The `..` that ends `results(...)`: undeclared keys can be read too.
    pub results_rest: bool,
    /// `consts(...)`.
    pub consts: Vec<RawConst>,
    /// `on_error = fail_closed | defaults`.
    pub on_error: Option<(Ident, OnError)>,
    /// `crate = path`.
    pub krate: Option<Path>,
}

/// What callers get when a script fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    FailClosed,
    Defaults,
}

/// `ident: Type [= default]` in `results(...)`, with its doc comments.
pub struct RawResult {
    pub attrs: Vec<Attribute>,
    pub ident: Ident,
    pub ty: Type,
    pub default: Option<Expr>,
}

/// `NAME = int` in `consts(...)`.
pub struct RawConst {
    pub ident: Ident,
    pub value: i64,
}

const OPTIONS: &[&str] = &["name", "results", "consts", "on_error", "crate"];
const POLICIES: &[&str] = &["fail_closed", "defaults"];

/// Parses the attribute's arguments; every error goes to `errors` and parsing goes on
/// with the next option.
pub fn options(attr: TokenStream, errors: &mut Errors) -> Options {
    let mut opts = Options::default();
    let parser = |input: ParseStream| {
        while !input.is_empty() {
            if let Err(e) = option(input, &mut opts) {
                errors.push(e);
                skip_to_comma(input);
            }
            if input.is_empty() {
                break;
            }
            if let Err(e) = input.parse::<Token![,]>() {
                errors.push(e);
                skip_to_comma(input);
                let _ = input.parse::<Option<Token![,]>>();
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(attr) {
        errors.push(e);
    }
    opts
}

fn option(input: ParseStream, opts: &mut Options) -> syn::Result<()> {
    let la = input.lookahead1();
    if la.peek(kw::name) {
        let key: kw::name = input.parse()?;
        input.parse::<Token![=]>()?;
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected the hook name as a string literal: `name = \"bgp.route_match\"`",
            ));
        }
        let lit: LitStr = input.parse()?;
        once(&opts.name, key.span, "name")?;
        opts.name = Some(lit);
    } else if la.peek(kw::results) {
        let key: kw::results = input.parse()?;
        let content;
        syn::parenthesized!(content in input);
        let items = list(&content, result_item)?;
        once(&opts.results, key.span, "results")?;
        let mut results = Vec::new();
        let count = items.len();
        let mut rest = None;
        for (i, item) in items.into_iter().enumerate() {
            match item {
                ResultItem::Result(r) => results.push(*r),
                ResultItem::Rest(dots) if rest.is_some() => {
                    return Err(syn::Error::new_spanned(
                        dots,
                        "`..` is given twice in `results(...)`: one `..` at the end keeps \
                         every returned key; remove this one",
                    ));
                }
                ResultItem::Rest(dots) => rest = Some((i, dots)),
            }
        }
        if let Some((i, dots)) = rest {
            if i + 1 != count {
                return Err(syn::Error::new_spanned(
                    dots,
                    "`..` comes last in `results(...)`: it stands for every returned key \
                     not listed before it; move it to the end",
                ));
            }
            opts.results_rest = true;
        }
        opts.results = Some(results);
    } else if la.peek(kw::consts) {
        let key: kw::consts = input.parse()?;
        let content;
        syn::parenthesized!(content in input);
        let items = list(&content, const_item)?;
        if !opts.consts.is_empty() {
            return Err(syn::Error::new(
                key.span,
                "option `consts` is given twice: list every constant in one `consts(...)`",
            ));
        }
        opts.consts = items;
    } else if la.peek(kw::on_error) {
        let key: kw::on_error = input.parse()?;
        input.parse::<Token![=]>()?;
        let la = input.lookahead1();
        let policy = if la.peek(kw::fail_closed) {
            OnError::FailClosed
        } else if la.peek(kw::defaults) {
            OnError::Defaults
        } else {
            return Err(bad_policy(input, la.error()));
        };
        let value = input.call(Ident::parse_any)?;
        once(&opts.on_error, key.span, "on_error")?;
        opts.on_error = Some((value, policy));
    } else if la.peek(Token![crate]) {
        let key: Token![crate] = input.parse()?;
        input.parse::<Token![=]>()?;
        if input.peek(LitStr) {
            return Err(
                input.error("`crate` takes a path, without quotes: `crate = my_daemon::frrhook`")
            );
        }
        let path = input.call(Path::parse_mod_style)?;
        once(&opts.krate, key.span, "crate")?;
        opts.krate = Some(path);
    } else {
        return Err(with_suggestion(input, la.error(), OPTIONS, "option"));
    }
    Ok(())
}

fn once<T>(slot: &Option<T>, span: Span, what: &str) -> syn::Result<()> {
    match slot {
        Some(_) => Err(twice(span, what)),
        None => Ok(()),
    }
}

fn twice(span: Span, what: &str) -> syn::Error {
    let fix = match what {
        "results" => "list every result in one `results(...)`".to_string(),
        _ => format!("remove one `{what}`"),
    };
    syn::Error::new(span, format!("option `{what}` is given twice: {fix}"))
}

/// The error for an `on_error` value that is not a policy: the closest policy, and what
/// each one means.
fn bad_policy(input: ParseStream, err: syn::Error) -> syn::Error {
    let Ok(found) = input.fork().call(Ident::parse_any) else {
        return err;
    };
    let found_text = found.unraw().to_string();
    let guess = match did_you_mean(&found_text, POLICIES) {
        Some(best) => format!(" (did you mean `{best}`?)"),
        None => String::new(),
    };
    syn::Error::new(
        found.span(),
        format!(
            "unknown `on_error` policy `{found_text}`{guess}: write `on_error = fail_closed` (the \
             caller gets the `HookError`; the default) or `on_error = defaults` (the caller gets \
             the default results and the error is logged)"
        ),
    )
}

/// `lookahead`'s "expected one of: ..." error, prefixed with "did you mean" when the
/// next token is an identifier close to one of `candidates`.
fn with_suggestion(
    input: ParseStream,
    err: syn::Error,
    candidates: &[&str],
    what: &str,
) -> syn::Error {
    let Ok(found) = input.fork().call(Ident::parse_any) else {
        return err;
    };
    let found_text = found.unraw().to_string();
    match did_you_mean(&found_text, candidates) {
        Some(best) => syn::Error::new(
            found.span(),
            format!("unknown {what} `{found_text}`: did you mean `{best}`? ({err})"),
        ),
        None => syn::Error::new(
            found.span(),
            format!("unknown {what} `{found_text}`: {err}"),
        ),
    }
}

/// The candidate closest to `found` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'c>(found: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (levenshtein(found, c), *c))
        .filter(|(d, c)| *d <= 2 || *d * 3 <= c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// A comma-separated list; the first syntax error ends it (and is returned). The rest
/// of the group is skipped, so syn does not add an "unexpected token" error of its own.
fn list<T>(input: ParseStream, item: fn(ParseStream) -> syn::Result<T>) -> syn::Result<Vec<T>> {
    match Punctuated::<T, Token![,]>::parse_terminated_with(input, item) {
        Ok(items) => Ok(items.into_iter().collect()),
        Err(e) => {
            let _ = input.step(|cursor| {
                let mut rest = *cursor;
                while let Some((_, next)) = rest.token_tree() {
                    rest = next;
                }
                Ok(((), rest))
            });
            Err(e)
        }
    }
}

/// One item of `results(...)`: a result, or the `..` that keeps the returned tables.
enum ResultItem {
    Result(Box<RawResult>),
    Rest(Token![..]),
}

fn result_item(input: ParseStream) -> syn::Result<ResultItem> {
    if input.peek(Token![..]) {
        return Ok(ResultItem::Rest(input.parse()?));
    }
    let attrs = input.call(Attribute::parse_outer)?;
    let ident = input.call(Ident::parse_any)?;
    if !input.peek(Token![:]) {
        let name = ident.unraw();
        return Err(syn::Error::new(
            ident.span(),
            format!(
                "result `{name}` needs a type: write `{name}: Option<T>` (absent is `None`) or \
                 `{name}: T = default`"
            ),
        ));
    }
    input.parse::<Token![:]>()?;
    let ty: Type = input.parse()?;
    let default = if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Some(input.parse::<Expr>()?)
    } else {
        None
    };
    Ok(ResultItem::Result(Box::new(RawResult {
        attrs,
        ident,
        ty,
        default,
    })))
}

fn const_item(input: ParseStream) -> syn::Result<RawConst> {
    let ident = input.call(Ident::parse_any)?;
    input.parse::<Token![=]>()?;
    let minus: Option<Token![-]> = input.parse()?;
    let lit: LitInt = input.parse()?;
    let mut tokens = TokenStream::new();
    if let Some(m) = &minus {
        quote::ToTokens::to_tokens(m, &mut tokens);
    }
    quote::ToTokens::to_tokens(&lit, &mut tokens);
    let magnitude: i128 = lit.base10_parse()?;
    let signed = if minus.is_some() {
        -magnitude
    } else {
        magnitude
    };
    let value = i64::try_from(signed).map_err(|_| {
        syn::Error::new_spanned(
            &tokens,
            format!(
                "constant `{ident}` does not fit in a Lua integer: use a value in \
                 -9223372036854775808..=9223372036854775807 (i64)"
            ),
        )
    })?;
    Ok(RawConst { ident, value })
}

/// Skips to the next top-level `,` (not consuming it) or the end.
fn skip_to_comma(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// The annotated item: a function signature, ended by `;` or an empty body.
pub struct RawFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    /// The body's braces, when the declaration has a non-empty body (an error).
    pub body: Option<TokenStream>,
}

/// Parses the item `#[hook_point]` is on.
pub fn item(tokens: TokenStream) -> syn::Result<RawFn> {
    let parser = |input: ParseStream| {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ahead = input.fork();
        let _ = ahead.parse::<Option<Token![const]>>();
        let _ = ahead.parse::<Option<Token![async]>>();
        let _ = ahead.parse::<Option<Token![unsafe]>>();
        let _ = ahead.parse::<Option<syn::Abi>>();
        if !ahead.peek(Token![fn]) {
            return Err(input.error(
                "#[hook_point] goes on a function signature: `pub fn name(arg: &Type, ...);`",
            ));
        }
        let sig: Signature = input.parse()?;
        let body = if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            None
        } else {
            let group = input.step(|cursor| match cursor.token_tree() {
                Some((TokenTree::Group(g), rest)) if g.delimiter() == Delimiter::Brace => {
                    Ok((g, rest))
                }
                _ => Err(cursor.error("expected `;` after the hook signature")),
            })?;
            if group.stream().is_empty() {
                None
            } else {
                Some(TokenStream::from(TokenTree::Group(group)))
            }
        };
        Ok(RawFn {
            attrs,
            vis,
            sig,
            body,
        })
    };
    parser.parse2(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("reslts", OPTIONS), Some("results"));
        assert_eq!(did_you_mean("nmae", OPTIONS), Some("name"));
        assert_eq!(did_you_mean("onerror", OPTIONS), Some("on_error"));
        assert_eq!(did_you_mean("default", POLICIES), Some("defaults"));
        assert_eq!(did_you_mean("color", OPTIONS), None);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
