//! Snapshots of the expansion of three representative hooks, and the error messages.
use proc_macro2::TokenStream;
use quote::quote;

use super::Errors;

fn pretty(attr: TokenStream, item: TokenStream) -> String {
    let out = super::expand(attr, item);
    let file: syn::File = syn::parse2(out).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

/// The messages of every error the declaration produces.
fn errors(attr: TokenStream, item: TokenStream) -> Vec<String> {
    let mut errors = Errors::default();
    let opts = super::parse::options(attr, &mut errors);
    match super::parse::item(item) {
        Ok(raw) => {
            super::model::build(opts, raw, &mut errors);
        }
        Err(e) => errors.push(e),
    }
    errors
        .finish()
        .into_iter()
        .flat_map(|e| e.into_iter().map(|e| e.to_string()))
        .collect()
}

/// FRR's route_match: `&T` and `&mut T` arguments, trailing constants, an `Option`
/// result and a defaulted one, fail-open.
#[test]
fn route_match() {
    insta::assert_snapshot!(pretty(
        quote!(
            name = "bgp.route_match",
            results(action: Option<RouteMapAction>, note: String = String::new()),
            consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3),
            on_error = defaults
        ),
        quote!(
            /// Decide whether a route matches a route-map entry.
            pub fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);
        ),
    ));
}

/// Observe-only, like zebra's `on_rib_process_dplane_results`: default name, by-value
/// and unsized arguments, no results, no `&mut` (so no lifetime-free write-back).
#[test]
fn observe_only() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote!(
            /// A route was installed.
            ///
            /// Called after the dataplane answered.
            pub(crate) fn on_rib_installed(vrf: u32, prefix: &str, nexthops: &[String]);
        ),
    ));
}

/// In/out scalar with a custom crate path, a by-value borrowed argument, and a result
/// with a default.
#[test]
fn in_out_scalar() {
    insta::assert_snapshot!(pretty(
        quote!(
            crate = ::my_daemon::frrhook,
            name = "vrrp.priority",
            results(reason: String = "unchanged".to_owned(), ..)
        ),
        quote!(
            /// Adjust a VRRP router's priority.
            pub fn vrrp_priority(priority: &mut u8, iface: Cow<'_, str>);
        ),
    ));
}

#[test]
fn no_arguments_no_lifetime() {
    let out = pretty(
        quote!(results(x: Option<u8>)),
        quote!(
            fn tick();
        ),
    );
    assert!(out.contains("type TickArgs = __TickArgs;"), "{out}");
    assert!(out.contains("TickArgs {}.call(rt)"), "{out}");
}

#[test]
fn option_errors() {
    assert_eq!(
        errors(
            quote!(reslts(a: Option<u8>), on_error = default, color = 1),
            quote!(
                fn f();
            )
        ),
        [
            "unknown option `reslts`: did you mean `results`? (expected one of: `name`, `results`, `consts`, `on_error`, `crate`)",
            "unknown `on_error` policy `default` (did you mean `defaults`?): write `on_error = fail_closed` \
             (the caller gets the `HookError`; the default) or `on_error = defaults` (the caller gets the \
             default results and the error is logged)",
            "unknown option `color`: expected one of: `name`, `results`, `consts`, `on_error`, `crate`",
        ]
    );
    assert_eq!(
        errors(
            quote!(name = "a", name = "b", name = ""),
            quote!(
                fn f();
            )
        ),
        [
            "option `name` is given twice: remove one `name`",
            "option `name` is given twice: remove one `name`"
        ]
    );
    assert_eq!(
        errors(
            quote!(consts(BIG = 9223372036854775808, OK = -9223372036854775808)),
            quote!(
                fn f();
            )
        ),
        [
            "constant `BIG` does not fit in a Lua integer: use a value in \
         -9223372036854775808..=9223372036854775807 (i64)"
        ]
    );
}

#[test]
fn signature_errors() {
    let got = errors(
        quote!(),
        quote!(
            pub async unsafe extern "C" fn f<T>(
                self,
                (a, b): (u8, u8),
                rt: u8,
                x: u8,
                x: u8,
                i: impl Clone,
                l: &'x u8,
                m: &mut &str,
            ) -> u8
            where
                T: Clone;
        ),
    );
    assert_eq!(
        got,
        [
            "a hook point cannot be `async`: scripts run synchronously on the calling thread; remove `async` \
             (async code calls the hook like any other function)",
            "a hook point cannot be `unsafe`: the generated call is safe; remove `unsafe`",
            "a hook point cannot be `extern`: it is called from Rust; remove the ABI",
            "a hook point cannot be generic: its arguments struct and descriptor need concrete types; remove the \
             generic parameters and name the types (declare one hook per type if needed)",
            "a hook point cannot have a `where` clause: its types are concrete; remove it",
            "a hook point does not return a value: declare results with `#[hook_point(results(name: Type, ...))]`; \
             the generated function returns `Result<FResults, HookError>`",
            "a hook point is a free function, not a method: move it out of the `impl` block and remove `self`; \
             the generated function takes the runtime as its first parameter (`rt: &Runtime`)",
            "expected a parameter name: each parameter is passed to Lua under its name, so patterns such as `_` or \
             `(a, b)` are not allowed; write `name: Type`",
            "`rt` is reserved: the generated function takes the runtime as its first parameter `rt: &Runtime`; rename this parameter",
            "parameter `x` is declared twice: each parameter is passed to Lua under its name; rename one",
            "`impl Trait` is not allowed in a hook parameter: the generated arguments struct and descriptor \
             need a concrete type; name the type (for example `&Route` or `&str`)",
            "hook parameters cannot name lifetimes: write `'_` or leave `'x` out",
            "a `&mut` hook argument is written back with values decoded from Lua, so its type cannot borrow: \
             use an owned type (`String` instead of `&str`), or pass the argument as `&T` if scripts must not \
             change it",
        ]
    );
    assert_eq!(
        errors(
            quote!(),
            quote!(
                const fn f() {}
            )
        ),
        [
            "a hook point cannot be `const fn`: calling a script is not a const operation; remove `const`"
        ]
    );
    assert_eq!(
        errors(
            quote!(),
            quote!(
                fn f() {
                    1
                }
            )
        ),
        [
            "a hook point is declared without a body: end the signature with `;` (the body is generated)"
        ]
    );
    assert_eq!(
        errors(
            quote!(),
            quote!(
                struct S;
            )
        ),
        ["#[hook_point] goes on a function signature: `pub fn name(arg: &Type, ...);`"]
    );
}

#[test]
fn result_errors() {
    let got = errors(
        quote!(
            results(plain: u32, attributes: Option<u8>, a: Option<u8>, a: Option<u8>, s: &str, c: Option<Cow<'_, str>>),
            consts(K = 1, K = 2, attributes = 3)
        ),
        quote!(
            fn f(attributes: &mut Attributes);
        ),
    );
    assert_eq!(
        got,
        [
            "constant `K` is declared twice; remove one",
            "constant `attributes` has the name of a parameter: constants are passed to Lua after the \
             arguments, as parameters of their own, so the names must differ; rename the constant",
            "result `plain` needs a value for when no script returns it: declare it `plain: Option<u32>`, \
             or give a default: `plain: u32 = expr`",
            "result `attributes` has the name of an argument: a returned key named like an argument is \
             that argument's write-back (when it is passed as `&mut`), so it cannot also be a result; rename the result",
            "result `a` is declared twice: each result is one key of the returned table; remove or rename one",
            "result `s` cannot borrow: results are decoded from Lua into new values that outlive the call, \
             so use an owned type (`String` instead of `&str`, `Vec<T>` instead of `&[T]`)",
            "result `c` cannot borrow: results are decoded from Lua into new values that outlive the call, \
             so use an owned type (`String` instead of `&str`, `Vec<T>` instead of `&[T]`)",
        ]
    );
}

/// A declaration with `self` sits in an `impl` block: the stub is the method alone, since
/// an `impl` block takes no structs.
#[test]
fn stub_with_self_is_a_method() {
    let out = super::expand(
        quote!(),
        quote!(
            fn on_event(&self, code: u32);
        ),
    )
    .to_string();
    assert!(out.contains("compile_error"), "{out}");
    assert!(
        out.contains("fn on_event (& self , _ : & :: frrhook :: Runtime , _ : u32)"),
        "{out}"
    );
    assert!(!out.contains("struct"), "{out}");
}

/// On error the output is the errors plus a stub that keeps callers compiling.
#[test]
fn stub_on_error() {
    let out = pretty(
        quote!(results(action: Option<u8>, bad: u8)),
        quote!(
            /// Doc.
            pub fn f<T>(x: &'x T, y: impl Clone);
        ),
    );
    assert!(out.contains("compile_error!"), "{out}");
    assert!(
        out.contains(
            "pub fn f<T>(\n    _: &::frrhook::Runtime,\n    _: &'_ T,\n    _: impl Clone,\n)"
        ),
        "{out}"
    );
    assert!(
        out.contains("pub struct FResults {\n    pub action: Option<u8>,\n    pub bad: u8,\n}"),
        "{out}"
    );
}

#[test]
fn helpers() {
    use super::expand::{guard_symbol, type_string};
    assert_eq!(
        guard_symbol("bgp.route_match"),
        "__frrhook_hook_name__bgp.route_match"
    );
    assert_eq!(guard_symbol("a-b@é"), "__frrhook_hook_name__a$2db$40$c3$a9");
    let ty: syn::Type =
        syn::parse_quote!(&'static mut std::collections::HashMap<String, Vec<(u8, i16)>>);
    assert_eq!(
        type_string(&ty),
        "&'static mut std::collections::HashMap<String, Vec<(u8, i16)>>"
    );
    let e: syn::Expr = syn::parse_quote!(vec![-1, 2].into_iter().map(|x| x + 1).collect());
    assert_eq!(
        type_string(&e),
        "vec![-1, 2].into_iter().map(|x|x + 1).collect()"
    );
    assert_eq!(super::camel(&syn::parse_quote!(r#type)), "Type");
    assert_eq!(super::camel(&syn::parse_quote!(on_rib__v4_x)), "OnRibV4X");
}
