//! Model: the validated description of one hook point.
//!
//! [`build`] turns the parsed options and signature into a [`Hook`], reporting every
//! problem it finds (not only the first) on the user's tokens. It always returns a
//! `Hook` holding what was valid, which [`super::expand`] turns into a stub when there
//! were errors.

use std::collections::HashSet;

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Expr, FnArg, GenericArgument, Ident, Lifetime, LitStr, Meta, Pat, Path,
    PathArguments, ReturnType, Type, Visibility,
};

use super::Errors;
use super::parse::{OnError, Options, RawFn, RawResult};

/// The name of the generated function's first parameter: the runtime. A hook cannot have
/// a parameter of this name.
pub const RESERVED_PARAM: &str = "rt";

/// A validated hook point.
pub struct Hook {
    /// The path of the frrhook crate (`::frrhook` unless `crate = ...`).
    pub krate: Path,
    /// `name = "..."`, or `None` for the module-path default.
    pub name: Option<LitStr>,
    /// The doc comment, one entry per `#[doc]` attribute.
    pub doc: Vec<DocLine>,
    /// The `#[doc]` attributes themselves.
    pub doc_attrs: Vec<Attribute>,
    /// Attributes of the declaration other than docs, kept on the generated function.
    pub fn_attrs: Vec<Attribute>,
    /// `#[cfg(...)]` attributes of the declaration, put on every generated item.
    pub cfgs: Vec<Attribute>,
    pub vis: Visibility,
    /// The function's name.
    pub ident: Ident,
    /// Parameters that were valid, in order.
    pub args: Vec<Arg>,
    pub consts: Vec<Const>,
    pub results: Vec<HookResult>,
    /// `results(.., ..)`: the returned tables are kept, for keys not declared.
    pub keeps_tables: bool,
    pub on_error: OnError,
    /// Types of every typed parameter, valid or not, for the stub emitted on error.
    pub stub_params: Vec<Type>,
    /// The declaration's generics (an error), kept for the stub so callers still compile.
    pub stub_generics: syn::Generics,
    /// Results whose types can be struct fields, valid or not, for the stub.
    pub stub_results: Vec<(Ident, Type)>,
    /// The `self` parameter (an error): the declaration is in an `impl` block, where the
    /// stub can only be a method.
    pub stub_receiver: Option<syn::Receiver>,
}

/// One `#[doc]` attribute: a string literal (leading space removed) or any other
/// expression (`include_str!(..)`), which goes into `concat!` as is.
pub enum DocLine {
    Text(String),
    Expr(Expr),
}

/// How an argument is passed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// `&T`
    Ref,
    /// `&mut T`
    Mut,
    /// `T`
    Value,
}

/// A parameter of the hook.
pub struct Arg {
    pub ident: Ident,
    /// The Lua-side name (the identifier without `r#`).
    pub lua_name: String,
    /// The type as written (`&IpNet`).
    pub ty: Type,
    pub mode: Mode,
    /// The referenced type for `&T`/`&mut T`, the type itself for `T`, as written.
    pub elem: Type,
    /// `elem` with every elided lifetime and `'_` turned into `'a`, for the arguments
    /// struct.
    pub field_elem: Type,
    /// Whether `field_elem` mentions `'a`.
    pub elem_borrows: bool,
}

/// A constant passed after the arguments.
pub struct Const {
    pub lua_name: String,
    pub value: i64,
}

/// A declared result.
pub struct HookResult {
    /// Doc comments written on the result.
    pub docs: Vec<Attribute>,
    pub ident: Ident,
    pub lua_name: String,
    /// The field type as declared.
    pub ty: Type,
    pub kind: ResultKind,
}

/// How an absent result is filled.
pub enum ResultKind {
    /// `Option<T>` without default: `None`; the key decodes as `T`.
    Optional(Type),
    /// `= expr`: the key decodes as the declared type.
    Default(Expr),
}

impl Hook {
    /// Whether the arguments struct has reference fields (and so a lifetime).
    pub fn struct_has_lifetime(&self) -> bool {
        self.args.iter().any(|a| a.mode != Mode::Value)
    }

    /// Whether the public `<Name>Args` alias needs `'a`.
    pub fn alias_has_lifetime(&self) -> bool {
        self.struct_has_lifetime() || self.args.iter().any(|a| a.elem_borrows)
    }
}

/// Validates the options and the signature. Every problem goes to `errors`.
pub fn build(opts: Options, item: RawFn, errors: &mut Errors) -> Hook {
    let RawFn {
        attrs,
        vis,
        sig,
        body,
    } = item;

    if let Some(body) = body {
        errors.push(syn::Error::new_spanned(
            body,
            "a hook point is declared without a body: end the signature with `;` (the body is generated)",
        ));
    }
    if let Some(t) = &sig.constness {
        errors.push(syn::Error::new(
            t.span,
            "a hook point cannot be `const fn`: calling a script is not a const operation; remove `const`",
        ));
    }
    if let Some(t) = &sig.asyncness {
        errors.push(syn::Error::new(
            t.span,
            "a hook point cannot be `async`: scripts run synchronously on the calling thread; remove \
             `async` (async code calls the hook like any other function)",
        ));
    }
    if let syn::Safety::Unsafe(t) = &sig.safety {
        errors.push(syn::Error::new(
            t.span,
            "a hook point cannot be `unsafe`: the generated call is safe; remove `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "a hook point cannot be `extern`: it is called from Rust; remove the ABI",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a hook point cannot be generic: its arguments struct and descriptor need concrete types; \
             remove the generic parameters and name the types (declare one hook per type if needed)",
        ));
    }
    if let Some(wc) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            wc,
            "a hook point cannot have a `where` clause: its types are concrete; remove it",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            v.dots,
            "a hook point cannot be variadic: each parameter is passed to Lua under its name; \
             declare them one by one, or pass a `&[T]`",
        ));
    }
    if let ReturnType::Type(arrow, ty) = &sig.output {
        let camel = super::camel(&sig.ident);
        errors.push(syn::Error::new_spanned(
            quote::quote!(#arrow #ty),
            format!(
                "a hook point does not return a value: declare results with \
                 `#[hook_point(results(name: Type, ...))]`; the generated function returns \
                 `Result<{camel}Results, HookError>`"
            ),
        ));
    }

    let mut doc = Vec::new();
    let mut doc_attrs = Vec::new();
    let mut fn_attrs = Vec::new();
    let mut cfgs = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("doc")
            && let Meta::NameValue(nv) = &attr.meta
        {
            doc.push(doc_line(&nv.value));
            doc_attrs.push(attr);
            continue;
        }
        if attr.path().is_ident("cfg") {
            cfgs.push(attr);
        } else {
            fn_attrs.push(attr);
        }
    }

    let mut names = Names::default();
    let mut args = Vec::new();
    let mut stub_params = Vec::new();
    let mut stub_receiver = None;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                stub_receiver = Some(r.clone());
                errors.push(syn::Error::new_spanned(
                r,
                "a hook point is a free function, not a method: move it out of the `impl` block and \
                 remove `self`; the generated function takes the runtime as its first parameter \
                 (`rt: &Runtime`)",
                ));
            }
            FnArg::Typed(pt) => {
                stub_params.push(stub_type(&pt.ty));
                // The name counts for duplicate checks even when the type is rejected.
                if let Pat::Ident(pi) = &*pt.pat {
                    names.arg(&pi.ident, errors);
                }
                if let Some(arg) = param(pt, errors) {
                    args.push(arg);
                }
            }
        }
    }

    let mut consts = Vec::new();
    for c in opts.consts {
        let lua_name = c.ident.unraw().to_string();
        if names.args.contains(&lua_name) {
            errors.push(syn::Error::new(
                c.ident.span(),
                format!(
                    "constant `{lua_name}` has the name of a parameter: constants are passed to Lua \
                     after the arguments, as parameters of their own, so the names must differ; \
                     rename the constant"
                ),
            ));
        } else if !names.consts.insert(lua_name.clone()) {
            errors.push(syn::Error::new(
                c.ident.span(),
                format!("constant `{lua_name}` is declared twice; remove one"),
            ));
        }
        consts.push(Const {
            lua_name,
            value: c.value,
        });
    }

    let mut results = Vec::new();
    let mut stub_results = Vec::new();
    let keeps_tables = opts.results_rest;
    for r in opts.results.unwrap_or_default() {
        if let Some(r) = result(r, &mut names, &mut stub_results, errors) {
            results.push(r);
        }
    }

    let krate = opts.krate.unwrap_or_else(|| syn::parse_quote!(::frrhook));
    if let Some(name) = &opts.name {
        let text = name.value();
        if text.is_empty() {
            errors.push(syn::Error::new(
                name.span(),
                "a hook name cannot be empty: write one such as `name = \"bgp.route_match\"`, or \
                 remove `name` to use the function's module path",
            ));
        } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(syn::Error::new(
                name.span(),
                "a hook name cannot contain whitespace: operators type it in commands and \
                 attachment files; use `.` or `_` between words (`bgp.route_match`)",
            ));
        }
    }

    Hook {
        krate,
        name: opts.name,
        doc,
        doc_attrs,
        fn_attrs,
        cfgs,
        vis,
        ident: sig.ident.clone(),
        args,
        consts,
        results,
        keeps_tables,
        on_error: opts.on_error.map(|(_, p)| p).unwrap_or(OnError::FailClosed),
        stub_params,
        stub_generics: sig.generics.clone(),
        stub_results,
        stub_receiver,
    }
}

fn doc_line(value: &Expr) -> DocLine {
    if let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(s),
        ..
    }) = value
    {
        let text = s.value();
        DocLine::Text(text.strip_prefix(' ').map(str::to_owned).unwrap_or(text))
    } else {
        DocLine::Expr(value.clone())
    }
}

/// Names seen so far, for duplicate checks.
#[derive(Default)]
struct Names {
    args: HashSet<String>,
    consts: HashSet<String>,
    results: HashSet<String>,
}

impl Names {
    fn arg(&mut self, ident: &Ident, errors: &mut Errors) {
        let name = ident.unraw().to_string();
        if !self.args.insert(name.clone()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "parameter `{name}` is declared twice: each parameter is passed to Lua under \
                     its name; rename one"
                ),
            ));
        }
    }
}

fn param(pt: &syn::PatType, errors: &mut Errors) -> Option<Arg> {
    let mut ok = true;
    if let Some(attr) = pt.attrs.first() {
        errors.push(syn::Error::new_spanned(
            attr,
            "attributes on hook parameters are not supported; remove it (doc comments go on \
             the function)",
        ));
        ok = false;
    }
    let ident = match &*pt.pat {
        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
            if let Some(m) = &pi.mutability {
                errors.push(syn::Error::new(
                    m.span,
                    "remove `mut`: a hook point has no body in which the parameter could change",
                ));
                ok = false;
            }
            pi.ident.clone()
        }
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                "expected a parameter name: each parameter is passed to Lua under its name, so \
                 patterns such as `_` or `(a, b)` are not allowed; write `name: Type`",
            ));
            return None;
        }
    };
    let lua_name = ident.unraw().to_string();
    if lua_name == RESERVED_PARAM {
        errors.push(syn::Error::new(
            ident.span(),
            format!(
                "`{RESERVED_PARAM}` is reserved: the generated function takes the runtime as its \
                 first parameter `{RESERVED_PARAM}: &Runtime`; rename this parameter"
            ),
        ));
        ok = false;
    }

    let ty = (*pt.ty).clone();
    let (mode, elem) = match &ty {
        Type::Reference(r) => {
            if let Some(lt) = r
                .lifetime
                .as_ref()
                .filter(|lt| lt.ident != "_" && lt.ident != "static")
            {
                errors.push(named_lifetime(lt));
                ok = false;
            }
            let mode = if r.mutability.is_some() {
                Mode::Mut
            } else {
                Mode::Ref
            };
            (mode, (*r.elem).clone())
        }
        other => (Mode::Value, other.clone()),
    };

    let check = TypeCheck::default().check(&elem);
    for e in check.impl_traits {
        errors.push(syn::Error::new(
            e,
            "`impl Trait` is not allowed in a hook parameter: the generated arguments struct and \
             descriptor need a concrete type; name the type (for example `&Route` or `&str`)",
        ));
        ok = false;
    }
    for e in check.infers {
        errors.push(syn::Error::new(
            e,
            "write the parameter type out: `_` is not allowed here",
        ));
        ok = false;
    }
    if mode == Mode::Mut {
        // The write-back decodes new owned values from Lua: nothing to borrow from.
        for borrow in check.borrows {
            errors.push(syn::Error::new_spanned(
                borrow,
                "a `&mut` hook argument is written back with values decoded from Lua, so its type \
                 cannot borrow: use an owned type (`String` instead of `&str`), or pass the \
                 argument as `&T` if scripts must not change it",
            ));
            ok = false;
        }
    } else {
        for lt in check.named_lifetimes {
            errors.push(named_lifetime(&lt));
            ok = false;
        }
    }
    if !ok {
        return None;
    }

    let mut field_elem = elem.clone();
    let mut to_a = ElidedToA { changed: false };
    to_a.visit_type_mut(&mut field_elem);
    Some(Arg {
        ident,
        lua_name,
        ty,
        mode,
        elem,
        field_elem,
        elem_borrows: to_a.changed,
    })
}

/// A parameter type for the stub: named lifetimes (undeclared, since generics are
/// rejected) become `'_` so they do not add errors of their own.
fn stub_type(ty: &Type) -> Type {
    struct Unname;
    impl VisitMut for Unname {
        fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
            if lt.ident != "static" {
                *lt = Lifetime::new("'_", lt.span());
            }
        }
        fn visit_type_fn_ptr_mut(&mut self, _: &mut syn::TypeFnPtr) {}
    }
    let mut ty = ty.clone();
    Unname.visit_type_mut(&mut ty);
    ty
}

fn named_lifetime(lt: &Lifetime) -> syn::Error {
    syn::Error::new_spanned(
        lt,
        format!("hook parameters cannot name lifetimes: write `'_` or leave `{lt}` out"),
    )
}

fn result(
    r: RawResult,
    names: &mut Names,
    stub: &mut Vec<(Ident, Type)>,
    errors: &mut Errors,
) -> Option<HookResult> {
    let RawResult {
        attrs,
        ident,
        ty,
        default,
    } = r;
    let lua_name = ident.unraw().to_string();
    let mut ok = true;
    for attr in &attrs {
        if !attr.path().is_ident("doc") {
            errors.push(syn::Error::new_spanned(
                attr,
                "only doc comments are allowed on a result",
            ));
            ok = false;
        }
    }
    if names.args.contains(&lua_name) {
        errors.push(syn::Error::new(
            ident.span(),
            format!(
                "result `{lua_name}` has the name of an argument: a returned key named like an \
                 argument is that argument's write-back (when it is passed as `&mut`), so it cannot \
                 also be a result; rename the result"
            ),
        ));
        ok = false;
    } else if !names.results.insert(lua_name.clone()) {
        errors.push(syn::Error::new(
            ident.span(),
            format!("result `{lua_name}` is declared twice: each result is one key of the returned table; remove or rename one"),
        ));
        ok = false;
    }
    let check = TypeCheck::strict().check(&ty);
    for borrow in &check.borrows {
        errors.push(syn::Error::new_spanned(
            borrow,
            format!(
                "result `{lua_name}` cannot borrow: results are decoded from Lua into new values \
                 that outlive the call, so use an owned type (`String` instead of `&str`, \
                 `Vec<T>` instead of `&[T]`)"
            ),
        ));
        ok = false;
    }
    for span in &check.impl_traits {
        errors.push(syn::Error::new(
            *span,
            "`impl Trait` is not allowed in a result type: results are decoded into a concrete \
             type; name it (for example `String` or `Vec<u32>`)",
        ));
        ok = false;
    }
    let first = !stub.iter().any(|(i, _)| i.unraw() == ident.unraw());
    if first && check.borrows.is_empty() && check.impl_traits.is_empty() {
        stub.push((ident.clone(), ty.clone()));
    }
    let kind = match (default, option_inner(&ty)) {
        (Some(expr), _) => ResultKind::Default(expr),
        (None, Some(inner)) => ResultKind::Optional(inner.clone()),
        (None, None) if !check.borrows.is_empty() => return None,
        (None, None) => {
            let shown = super::expand::type_string(&ty);
            errors.push(syn::Error::new_spanned(
                &ty,
                format!(
                    "result `{lua_name}` needs a value for when no script returns it: declare it \
                     `{lua_name}: Option<{shown}>`, or give a default: `{lua_name}: {shown} = expr`"
                ),
            ));
            return None;
        }
    };
    ok.then_some(HookResult {
        docs: attrs,
        ident,
        lua_name,
        ty,
        kind,
    })
}

/// `T` when `ty` is written `Option<T>` (or `std::option::Option<T>`, `core::...`).
pub fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let segs: Vec<_> = tp.path.segments.iter().collect();
    let last = segs.last()?;
    let prefix_ok = match segs.len() {
        1 => tp.path.leading_colon.is_none(),
        3 => {
            (segs[0].ident == "std" || segs[0].ident == "core")
                && segs[1].ident == "option"
                && segs[..2].iter().all(|s| s.arguments.is_none())
        }
        _ => false,
    };
    if !prefix_ok || last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(ab) = &last.arguments else {
        return None;
    };
    if ab.args.len() != 1 {
        return None;
    }
    match ab.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// Finds what a hook type may not contain.
#[derive(Default)]
struct TypeCheck {
    /// Count `'static` as a borrow too (result types).
    strict: bool,
    impl_traits: Vec<Span>,
    infers: Vec<Span>,
    /// Lifetimes other than `'_` and `'static`.
    named_lifetimes: Vec<Lifetime>,
    /// References and lifetimes (other than `'static` unless `strict`): the whole
    /// reference type, or the lifetime, for the error's span.
    borrows: Vec<proc_macro2::TokenStream>,
}

impl TypeCheck {
    fn check(mut self, ty: &Type) -> Self {
        self.visit_type_mut(&mut ty.clone());
        self
    }

    fn strict() -> Self {
        TypeCheck {
            strict: true,
            ..TypeCheck::default()
        }
    }

    /// Records `lt` as named (when it is), and whether it makes `tokens` a borrow.
    fn lifetime(&mut self, lt: &Lifetime, tokens: proc_macro2::TokenStream) {
        if lt.ident != "_" && lt.ident != "static" {
            self.named_lifetimes.push(lt.clone());
        }
        if lt.ident != "static" || self.strict {
            self.borrows.push(tokens);
        }
    }
}

// `VisitMut` on a copy: the workspace enables syn's `visit-mut` feature, not `visit`.
impl VisitMut for TypeCheck {
    fn visit_type_impl_trait_mut(&mut self, i: &mut syn::TypeImplTrait) {
        self.impl_traits.push(i.span());
    }
    fn visit_type_infer_mut(&mut self, i: &mut syn::TypeInfer) {
        self.infers.push(i.span());
    }
    fn visit_type_reference_mut(&mut self, i: &mut syn::TypeReference) {
        let whole = i.to_token_stream();
        match &i.lifetime {
            Some(lt) => self.lifetime(lt, whole),
            None => self.borrows.push(whole),
        }
        self.visit_type_mut(&mut i.elem);
    }
    fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
        self.lifetime(lt, lt.to_token_stream());
    }
    // Lifetimes in `fn(&T)` and `Fn(&T)` belong to the function type, not to the value.
    fn visit_type_fn_ptr_mut(&mut self, i: &mut syn::TypeFnPtr) {
        let mut inner = TypeCheck::default();
        syn::visit_mut::visit_type_fn_ptr_mut(&mut inner, i);
        self.impl_traits.extend(inner.impl_traits);
    }
    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        i: &mut syn::ParenthesizedGenericArguments,
    ) {
        let mut inner = TypeCheck::default();
        syn::visit_mut::visit_parenthesized_generic_arguments_mut(&mut inner, i);
        self.impl_traits.extend(inner.impl_traits);
    }
}

/// Replaces elided reference lifetimes and `'_` by `'a`.
struct ElidedToA {
    changed: bool,
}

impl ElidedToA {
    fn a(&mut self, span: Span) -> Lifetime {
        self.changed = true;
        Lifetime::new("'a", span)
    }
}

impl VisitMut for ElidedToA {
    fn visit_type_reference_mut(&mut self, i: &mut syn::TypeReference) {
        if i.lifetime.is_none() {
            i.lifetime = Some(self.a(i.and_token.span));
        }
        syn::visit_mut::visit_type_reference_mut(self, i);
    }
    fn visit_lifetime_mut(&mut self, lt: &mut Lifetime) {
        if lt.ident == "_" {
            *lt = self.a(lt.span());
        }
    }
    fn visit_type_fn_ptr_mut(&mut self, _: &mut syn::TypeFnPtr) {}
    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }
    // A hidden lifetime cannot be seen in the tokens, except in `Cow<T>`, the one
    // encodable std type that has one: it becomes `Cow<'a, T>`. Other types must write
    // `'_` (`Route<'_>`), or rustc points at them ("expected named lifetime parameter").
    fn visit_path_segment_mut(&mut self, seg: &mut syn::PathSegment) {
        if seg.ident == "Cow"
            && let PathArguments::AngleBracketed(ab) = &mut seg.arguments
            && !ab
                .args
                .iter()
                .any(|a| matches!(a, GenericArgument::Lifetime(_)))
        {
            let a = self.a(seg.ident.span());
            ab.args.insert(0, GenericArgument::Lifetime(a));
        }
        syn::visit_mut::visit_path_segment_mut(self, seg);
    }
}

impl ToTokens for DocLine {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        match self {
            DocLine::Text(t) => t.to_tokens(tokens),
            DocLine::Expr(e) => e.to_tokens(tokens),
        }
    }
}
