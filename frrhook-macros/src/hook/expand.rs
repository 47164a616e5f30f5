//! Expand: the code generated for a [`Hook`].
//!
//! For `fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer)`:
//!
//! - `fn route_match(rt: &Runtime, prefix, attributes, peer) -> Result<RouteMatchResults, HookError>`,
//!   with the declaration's doc comment and a generated section describing the hook;
//! - `type RouteMatchArgs<'a> = __RouteMatchArgs<'a, IpNet, Attributes, Peer>`, with
//!   `hook()` (the static descriptor) and `call(self, rt)` (the gate, then the runtime);
//! - the hidden `__RouteMatchArgs<'a, P0: ?Sized, ..>` holding the arguments, and its
//!   `HookArgs` impl, generic over the argument types with the codec bounds;
//! - `struct RouteMatchResults` with one public field per declared result, `get` and
//!   `tables`, and `Debug`;
//! - one `const _: () = assert_*::<T>();` per user type, spanned on the type as written;
//! - the `inventory` registration;
//! - for an explicit `name = "..."`, a duplicate-name guard: a one-byte `#[used]` static
//!   exported under a symbol derived from the name (see [`guard_symbol`]). Default names
//!   (module path + function name) are unique by construction and get none.
//!
//! **One error per bad type.** The asserts are the only places where a user type meets a
//! codec bound in a concrete context. The `HookArgs` impl is generic (so its bounds are
//! checked once, abstractly: that is why the arguments struct is generic behind an
//! alias, and why `Undo` can name `<P as LuaDecode>::Update`); the descriptor's Lua
//! shapes, the result decoding and the call go through the `__private::Probe` auto-ref
//! probes, which fall back to never-called code when a bound does not hold.
use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::camel;
use super::model::{Arg, Hook, HookResult, Mode, RESERVED_PARAM, ResultKind};
use super::parse::OnError;

/// Names of the generated items.
struct Names {
    args: Ident,
    hidden: Ident,
    results: Ident,
}

impl Names {
    fn of(h: &Hook) -> Self {
        let c = camel(&h.ident);
        let span = h.ident.span();
        Names {
            args: format_ident!("{}Args", c, span = span),
            hidden: format_ident!("__{}Args", c, span = span),
            results: format_ident!("{}Results", c, span = span),
        }
    }
}

/// The full expansion.
pub fn hook(h: &Hook) -> TokenStream {
    let krate = &h.krate;
    let vis = &h.vis;
    let cfgs = &h.cfgs;
    let n = Names::of(h);
    let Names {
        args: args_ident,
        hidden,
        results: results_ident,
    } = &n;
    let fn_ident = &h.ident;
    let rt = Ident::new(RESERVED_PARAM, Span::call_site());

    let params = h.args.iter().map(|a| {
        let (ident, ty) = (&a.ident, &a.ty);
        quote!(#ident: #ty)
    });
    let arg_idents: Vec<&Ident> = h.args.iter().map(|a| &a.ident).collect();
    let fn_doc = fn_doc(h, &n);
    let fn_attrs = &h.fn_attrs;
    let doc_attrs = &h.doc_attrs;
    let inline = if fn_attrs.iter().any(|a| a.path().is_ident("inline")) {
        None
    } else {
        Some(quote!(#[inline]))
    };
    let too_many = (h.args.len() + 1 > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));

    // The arguments struct: hidden and generic, behind a concrete alias.
    let lt_struct = h.struct_has_lifetime().then(|| quote!('a));
    let lt_alias = h.alias_has_lifetime().then(|| quote!('a));
    let type_params: Vec<Ident> = (0..h.args.len()).map(|i| format_ident!("P{}", i)).collect();
    let struct_generics = h.args.iter().zip(&type_params).map(|(a, p)| match a.mode {
        Mode::Ref | Mode::Mut => quote!(#p: ?::core::marker::Sized),
        Mode::Value => quote!(#p),
    });
    let struct_generics = lt_struct
        .iter()
        .map(|lt| quote!(#lt))
        .chain(struct_generics);
    let fields = h.args.iter().zip(&type_params).map(|(a, p)| {
        let ident = &a.ident;
        let doc = format!(
            " `{}: {}`: {}.",
            a.lua_name,
            type_string(&a.ty),
            mode_phrase(a)
        );
        let ty = match a.mode {
            Mode::Ref => quote!(&'a #p),
            Mode::Mut => quote!(&'a mut #p),
            Mode::Value => quote!(#p),
        };
        quote!(#[doc = #doc] pub #ident: #ty)
    });
    let alias_args = lt_struct
        .iter()
        .map(|lt| quote!(#lt))
        .chain(h.args.iter().map(|a| a.field_elem.to_token_stream()));
    let impl_generics =
        lt_struct
            .iter()
            .map(|lt| quote!(#lt))
            .chain(h.args.iter().zip(&type_params).map(|(a, p)| match a.mode {
                Mode::Ref | Mode::Value => {
                    let unsized_ = (a.mode == Mode::Ref).then(|| quote!(?::core::marker::Sized+));
                    quote!(#p: #unsized_ #krate::codec::LuaEncode)
                }
                Mode::Mut => quote!(#p: #krate::__private::WriteBack),
            }));
    let hidden_ty_args = lt_struct
        .iter()
        .map(|lt| quote!(#lt))
        .chain(type_params.iter().map(|p| quote!(#p)));
    let hidden_ty = quote!(#hidden<#(#hidden_ty_args),*>);

    let hook_name_doc = name_doc(h, "Arguments of hook `", "`.");
    let hook_fn = descriptor_fn(h);
    let args_impl = args_impl(h, &n, &type_params);
    let results = results_items(h, &n);
    let asserts = asserts(h);
    let guard = h.name.as_ref().map(|lit| {
        let sym = guard_symbol(&lit.value());
        // `mixed_site`: the `unsafe(export_name)` is the macro's, so a crate with
        // `#![forbid(unsafe_code)]` can still declare hooks. `not(test)`: a crate's unit
        // tests may link the crate a second time through a dev-dependency.
        quote_spanned! {Span::mixed_site()=>
            #(#cfgs)*
            #[cfg(not(test))]
            const _: () = {
                #[used]
                #[unsafe(export_name = #sym)]
                static DUPLICATE_HOOK_NAME: u8 = 0;
            };
        }
    });

    let alias_doc = format!(
        " Building this struct and calling [`call`](Self::call) is the same as calling [`{fn_ident}`]."
    );
    let call_doc = format!(
        " Calls the hook, as [`{fn_ident}`] does. With nothing attached anywhere in the process \
         it returns the default results after one atomic load."
    );

    quote! {
        #(#cfgs)*
        #(#doc_attrs)*
        #fn_doc
        #(#fn_attrs)*
        #inline
        #too_many
        #vis fn #fn_ident(#rt: &#krate::Runtime, #(#params),*)
            -> ::core::result::Result<#results_ident, #krate::HookError>
        {
            #args_ident { #(#arg_idents),* }.call(#rt)
        }

        #(#cfgs)*
        #[doc(hidden)]
        #vis struct #hidden<#(#struct_generics),*> {
            #(#fields,)*
        }

        #(#cfgs)*
        #hook_name_doc
        #[doc = ""]
        #[doc = #alias_doc]
        #vis type #args_ident<#lt_alias> = #hidden<#(#alias_args),*>;

        #(#cfgs)*
        impl<#lt_alias> #args_ident<#lt_alias> {
            #hook_fn

            #[doc = #call_doc]
            #[inline]
            pub fn call(mut self, #rt: &#krate::Runtime)
                -> ::core::result::Result<#results_ident, #krate::HookError>
            {
                #[allow(unused_imports)]
                use #krate::__private::{ProbeCall as _, ProbeCallFallback as _};
                if !Self::hook().is_attached() {
                    return ::core::result::Result::Ok(#results_ident::__defaults());
                }
                (&#krate::__private::Probe::<Self>::new()).call_hook(#rt, &mut self)
            }
        }

        #(#cfgs)*
        impl<#(#impl_generics),*> #krate::__private::HookArgs for #hidden_ty {
            #args_impl
        }

        #results

        #asserts

        #guard

        #(#cfgs)*
        #krate::__private::inventory::submit! {
            #krate::__private::HookRegistration(#args_ident::hook)
        }
    }
}

/// The symbol of the duplicate-name guard of hook `name`: two hooks of the same name in
/// one crate fail to compile ("symbol ... is already defined"), in two crates linked
/// into one binary they fail to link ("duplicate symbol"), as long as the linker pulls
/// in both objects (a crate nothing refers to is not linked, and registers nothing
/// either). Not emitted under `cfg(test)`: a crate's unit tests may link a second copy
/// of the crate through a dev-dependency. Characters other than ASCII letters, digits,
/// `_` and `.` are written `$xx` (hex), so the mapping is one-to-one.
pub fn guard_symbol(name: &str) -> String {
    let mut sym = String::from("__frrhook_hook_name__");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            sym.push(c);
        } else {
            for b in c.to_string().bytes() {
                sym.push_str(&format!("${b:02x}"));
            }
        }
    }
    sym
}

/// `hook()`: the static descriptor.
fn descriptor_fn(h: &Hook) -> TokenStream {
    let krate = &h.krate;
    let fn_name = h.ident.unraw_string();
    let name = match &h.name {
        Some(lit) => quote!(#lit),
        None => quote!(::core::concat!(::core::module_path!(), "::", #fn_name)),
    };
    let doc_parts: Vec<TokenStream> = h.doc.iter().map(|d| d.to_token_stream()).collect();
    let doc = match doc_parts.len() {
        0 => quote!(""),
        1 => quote!(::core::concat!(#(#doc_parts)*)),
        _ => {
            let mut parts = Vec::new();
            for (i, d) in doc_parts.iter().enumerate() {
                if i > 0 {
                    parts.push(quote!("\n"));
                }
                parts.push(d.clone());
            }
            quote!(::core::concat!(#(#parts),*))
        }
    };
    let span = h.ident.span();
    let file = quote_spanned!(span=> ::core::file!());
    let line = quote_spanned!(span=> ::core::line!());

    let args = h.args.iter().map(|a| {
        let name = &a.lua_name;
        let mode = match a.mode {
            Mode::Ref => quote!(Ref),
            Mode::Mut => quote!(Mut),
            Mode::Value => quote!(Value),
        };
        let rust_type = type_string(&a.ty);
        let elem = &a.elem;
        quote! {
            #krate::ArgDescriptor {
                name: #name,
                mode: #krate::ArgMode::#mode,
                rust_type: #rust_type,
                lua_type: |registry: &mut #krate::codec::TypeRegistry| {
                    (&#krate::__private::Probe::<#elem>::new()).encode_lua_type(registry)
                },
            }
        }
    });
    let consts = h.consts.iter().map(|c| {
        let name = &c.lua_name;
        let value = proc_macro2::Literal::i64_unsuffixed(c.value);
        quote! {
            #krate::ArgDescriptor {
                name: #name,
                mode: #krate::ArgMode::Const(#value),
                rust_type: "i64",
                lua_type: <i64 as #krate::codec::LuaEncode>::lua_type,
            }
        }
    });
    let results = h.results.iter().map(|r| {
        let name = &r.lua_name;
        let rust_type = type_string(&r.ty);
        let decoded = decoded_type(r);
        let default = match &r.kind {
            ResultKind::Optional(_) => quote!(::core::option::Option::None),
            ResultKind::Default(expr) => {
                let text = type_string(expr);
                quote!(::core::option::Option::Some(#text))
            }
        };
        quote! {
            #krate::ResultDescriptor {
                name: #name,
                rust_type: #rust_type,
                default: #default,
                lua_type: |registry: &mut #krate::codec::TypeRegistry| {
                    (&#krate::__private::Probe::<#decoded>::new()).decode_lua_type(registry)
                },
            }
        }
    });
    let policy = match h.on_error {
        OnError::FailClosed => quote!(FailClosed),
        OnError::Defaults => quote!(Defaults),
    };
    let doc_line = name_doc(
        h,
        "The descriptor of hook `",
        "`: its name, doc, arguments and results.",
    );
    // Issue 7: the type-erased entry for frrhook::cli (see expand_dyn.rs).
    let with_dyn_call = super::expand_dyn::with_dyn_call(h);
    quote! {
        #doc_line
        #[inline]
        pub fn hook() -> &'static #krate::HookDescriptor {
            #[allow(unused_imports)]
            use #krate::__private::{
                ProbeDecode as _, ProbeDecodeFallback as _, ProbeEncode as _, ProbeEncodeFallback as _,
            };
            static HOOK: #krate::HookDescriptor = #krate::HookDescriptor::new(
                #name,
                #doc,
                ::core::concat!(::core::module_path!(), "::", #fn_name),
                #file,
                #line,
                &[#(#args,)* #(#consts,)*],
                &[#(#results,)*],
                #krate::ErrorPolicy::#policy,
            )#with_dyn_call;
            &HOOK
        }
    }
}

/// The body of `impl HookArgs for __NameArgs<..>`.
fn args_impl(h: &Hook, n: &Names, type_params: &[Ident]) -> TokenStream {
    let krate = &h.krate;
    let Names {
        args: args_ident,
        results: results_ident,
        ..
    } = n;
    let muts: Vec<(&Arg, &Ident)> = h
        .args
        .iter()
        .zip(type_params)
        .filter(|(a, _)| a.mode == Mode::Mut)
        .collect();

    let count = h.args.len() + h.consts.len();
    let pushes = h.args.iter().map(|a| {
        let (ident, name) = (&a.ident, &a.lua_name);
        match a.mode {
            Mode::Ref => quote!(#krate::__private::push_ref_arg(cx, lazy, #name, self.#ident)?;),
            Mode::Mut => quote!(#krate::__private::push_arg(cx, #name, &*self.#ident)?;),
            Mode::Value => quote!(#krate::__private::push_arg(cx, #name, &self.#ident)?;),
        }
    });
    let consts = h.consts.iter().map(|c| {
        let (name, value) = (&c.lua_name, proc_macro2::Literal::i64_unsuffixed(c.value));
        quote!(#krate::__private::push_const(cx, #name, #value)?;)
    });
    let count_lit = proc_macro2::Literal::i32_unsuffixed(i32::try_from(count).unwrap_or(i32::MAX));
    let encode_body = if count == 0 {
        quote!(let _ = (cx, lazy);)
    } else {
        quote! {
            let _ = &lazy;
            #(#pushes)*
            #(#consts)*
        }
    };

    let (undo_ty, write_back, undo) = if muts.is_empty() {
        (
            quote!(()),
            quote! {
                fn write_back(
                    &mut self,
                    _cx: &#krate::codec::raw::RawCx<'_>,
                    _idx: ::core::ffi::c_int,
                ) -> ::core::result::Result<(), #krate::codec::DecodeError> {
                    ::core::result::Result::Ok(())
                }
            },
            quote!(
                fn undo(&mut self, _undo: ()) {}
            ),
        )
    } else {
        let updates = muts
            .iter()
            .map(|(_, p)| quote!(::core::option::Option<<#p as #krate::codec::LuaDecode>::Update>));
        let slots: Vec<Ident> = (0..muts.len())
            .map(|i| format_ident!("update{}", i))
            .collect();
        let prepares = muts.iter().zip(&slots).map(|((a, p), slot)| {
            let (ident, name) = (&a.ident, &a.lua_name);
            let key = c_string(name);
            quote!(let #slot = #krate::__private::prepare_arg::<#p>(&*self.#ident, cx, idx, #key)?;)
        });
        let applies = muts.iter().zip(&slots).map(|((a, _), slot)| {
            let ident = &a.ident;
            quote!(#slot.map(|u| #krate::codec::LuaDecode::apply_update(&mut *self.#ident, u)))
        });
        let reverts = muts.iter().zip(&slots).map(|((a, _), slot)| {
            let ident = &a.ident;
            quote! {
                if let ::core::option::Option::Some(u) = #slot {
                    ::core::mem::drop(#krate::codec::LuaDecode::apply_update(&mut *self.#ident, u));
                }
            }
        });
        (
            quote!((#(#updates,)*)),
            quote! {
                fn write_back(
                    &mut self,
                    cx: &#krate::codec::raw::RawCx<'_>,
                    idx: ::core::ffi::c_int,
                ) -> ::core::result::Result<Self::Undo, #krate::codec::DecodeError> {
                    // Every update is prepared (and can fail) before any is applied.
                    #(#prepares)*
                    ::core::result::Result::Ok((#(#applies,)*))
                }
            },
            quote! {
                fn undo(&mut self, undo: Self::Undo) {
                    let (#(#slots,)*) = undo;
                    #(#reverts)*
                }
            },
        )
    };

    let partial_ty = partial_type(h);
    let partial_value = if h.results.is_empty() {
        TokenStream::new()
    } else {
        let nones = h
            .results
            .iter()
            .map(|_| quote!(::core::option::Option::None));
        quote!((#(#nones,)*))
    };
    let read_results = if h.results.is_empty() {
        quote! {
            let _ = (partial, cx, idx);
            ::core::result::Result::Ok(())
        }
    } else {
        let reads = h.results.iter().enumerate().map(|(i, r)| {
            let (ty, key) = (decoded_type(r), c_string(&r.lua_name));
            let i = syn::Index::from(i);
            quote! {
                if let ::core::option::Option::Some(v) =
                    (&#krate::__private::Probe::<#ty>::new()).read_result(cx, idx, #key)?
                {
                    partial.#i = ::core::option::Option::Some(v);
                }
            }
        });
        quote! {
            #[allow(unused_imports)]
            use #krate::__private::{ProbeDecode as _, ProbeDecodeFallback as _};
            #(#reads)*
            ::core::result::Result::Ok(())
        }
    };
    let keeps_tables = h.keeps_tables;
    let lazy = h.args.iter().any(|a| a.mode == Mode::Ref);
    quote! {
        type Results = #results_ident;
        type Undo = #undo_ty;
        type Partial = #partial_ty;
        const KEEPS_TABLES: bool = #keeps_tables;
        const LAZY: bool = #lazy;

        #[inline]
        fn descriptor() -> &'static #krate::HookDescriptor {
            #args_ident::hook()
        }

        fn push_args<'__s>(
            &'__s self,
            cx: &#krate::codec::raw::RawCx<'_>,
            lazy: ::core::option::Option<&#krate::__private::Lazy<'__s>>,
        ) -> ::core::result::Result<i32, #krate::__private::ArgEncodeError> {
            #encode_body
            ::core::result::Result::Ok(#count_lit)
        }

        #write_back

        #undo

        fn partial() -> Self::Partial {
            #partial_value
        }

        fn read_results(
            partial: &mut Self::Partial,
            cx: &#krate::codec::raw::RawCx<'_>,
            idx: ::core::ffi::c_int,
        ) -> ::core::result::Result<(), #krate::codec::DecodeError> {
            #read_results
        }

        fn results(partial: Self::Partial, returned: #krate::ResultTables) -> #results_ident {
            #results_ident::__from_parts(partial, returned)
        }

        #[inline]
        fn default_results() -> #results_ident {
            #results_ident::__defaults()
        }
    }
}

/// The results struct and its impls.
fn results_items(h: &Hook, n: &Names) -> TokenStream {
    let krate = &h.krate;
    let vis = &h.vis;
    let cfgs = &h.cfgs;
    let results_ident = &n.results;
    let idents: Vec<&Ident> = h.results.iter().map(|r| &r.ident).collect();
    let names: Vec<&String> = h.results.iter().map(|r| &r.lua_name).collect();
    let types: Vec<&Type> = h.results.iter().map(|r| &r.ty).collect();

    let fields = h.results.iter().map(|r| {
        let (ident, ty) = (&r.ident, &r.ty);
        let docs = if r.docs.is_empty() {
            let text = match &r.kind {
                ResultKind::Optional(_) => format!(
                    " Key `{}`; `None` when no function returned it.",
                    r.lua_name
                ),
                ResultKind::Default(e) => {
                    format!(
                        " Key `{}`; `{}` when no function returned it.",
                        r.lua_name,
                        type_string(e)
                    )
                }
            };
            quote!(#[doc = #text])
        } else {
            let d = &r.docs;
            quote!(#(#d)*)
        };
        quote!(#docs pub #ident: #ty)
    });
    let default_fns: Vec<Option<Ident>> = h.results.iter().map(default_fn_ident).collect();
    let default_defs = h.results.iter().zip(&default_fns).filter_map(|(r, f)| {
        let f = f.as_ref()?;
        let ResultKind::Default(expr) = &r.kind else {
            return None;
        };
        let ty = &r.ty;
        Some(quote! {
            #[inline]
            fn #f() -> #ty {
                #expr
            }
        })
    });
    let defaults = h.results.iter().zip(&default_fns).map(|(r, f)| {
        let ident = &r.ident;
        match f {
            Some(f) => quote!(#ident: Self::#f()),
            None => quote!(#ident: ::core::option::Option::None),
        }
    });
    let parts = h
        .results
        .iter()
        .zip(&default_fns)
        .enumerate()
        .map(|(i, (r, f))| {
            let ident = &r.ident;
            let i = syn::Index::from(i);
            match f {
                Some(f) => quote!(#ident: partial.#i.unwrap_or_else(Self::#f)),
                None => quote!(#ident: partial.#i),
            }
        });
    let partial_ty = partial_type(h);
    let results_doc = name_doc(h, "Results of hook `", "`.");
    let fn_link = format!(
        " Returned by [`{}`]; each field is read from the returned key of the same name.",
        h.ident
    );
    let name_str = results_ident.to_string();
    let keeps = if h.keeps_tables {
        quote! {
            #(#cfgs)*
            impl<T: ?::core::marker::Sized> #krate::__private::KeepsTables<T> for #results_ident {}
        }
    } else {
        TokenStream::new()
    };
    // `tables` has the bound of `get` too (through its lifetime, so that the bound is
    // checked where it is called, not here).
    let tables_fn = quote! {
        /// The tables the attached functions returned, in chain order (empty when
        /// nothing ran). Only for a hook whose `results(...)` ends with `..`.
        pub fn tables<'__t>(&'__t self) -> &'__t #krate::ResultTables
        where
            Self: #krate::__private::KeepsTables<&'__t ()>,
        {
            self.__tables.__inner()
        }
    };

    quote! {
        #(#cfgs)*
        #results_doc
        #[doc = ""]
        #[doc = #fn_link]
        #vis struct #results_ident {
            #(#fields,)*
            __tables: #krate::__private::Returned,
        }

        #keeps

        #(#cfgs)*
        impl #results_ident {
            /// Reads a returned key that is not a declared result, as `T` (FRR's
            /// `frrscript_get_result`): `Ok(None)` when no function returned it. Only for
            /// a hook whose `results(...)` ends with `..`, which keeps the returned tables.
            pub fn get<T: #krate::codec::LuaDecode>(&self, key: &str)
                -> ::core::result::Result<::core::option::Option<T>, #krate::codec::DecodeError>
            where
                Self: #krate::__private::KeepsTables<T>,
            {
                self.__tables.__inner().get(key)
            }

            #tables_fn

            #(#default_defs)*

            #[inline]
            fn __defaults() -> Self {
                #results_ident {
                    #(#defaults,)*
                    __tables: <#krate::__private::Returned as ::core::default::Default>::default(),
                }
            }

            #[inline]
            fn __from_parts(partial: #partial_ty, tables: #krate::ResultTables) -> Self {
                let _ = &partial;
                #results_ident {
                    #(#parts,)*
                    __tables: #krate::__private::Returned::new(tables),
                }
            }
        }

        #(#cfgs)*
        impl ::core::fmt::Debug for #results_ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #[allow(unused_imports)]
                use #krate::__private::{ProbeDebug as _, ProbeDebugFallback as _};
                f.debug_struct(#name_str)
                    #(.field(#names, (&#krate::__private::Probe::<#types>::new()).debug_field(&self.#idents)))*
                    .finish_non_exhaustive()
            }
        }
    }
}

/// The results read so far in a chain: `(Option<T>, ...)`, one per declared result.
fn partial_type(h: &Hook) -> TokenStream {
    let types = h.results.iter().map(decoded_type);
    quote!((#(::core::option::Option<#types>,)*))
}

/// `c"name"`: a key as the C string the raw reads take (names are Rust identifiers, so
/// they hold no NUL).
fn c_string(name: &str) -> proc_macro2::Literal {
    let c = std::ffi::CString::new(name).unwrap_or_default();
    proc_macro2::Literal::c_string(&c)
}

/// The type a result key decodes as: `T` for `Option<T>` without default, else the
/// declared type.
fn decoded_type(r: &HookResult) -> &Type {
    match &r.kind {
        ResultKind::Optional(inner) => inner,
        ResultKind::Default(_) => &r.ty,
    }
}

fn default_fn_ident(r: &HookResult) -> Option<Ident> {
    match r.kind {
        ResultKind::Default(_) => Some(format_ident!("__default_{}", r.lua_name)),
        ResultKind::Optional(_) => None,
    }
}

/// One assert per user type, spanned on the type as written: the only place a user type
/// meets a codec bound in a concrete context.
///
/// Each names an item of the trait through a qualified path (`<T as LuaEncode>::encode`)
/// rather than calling a generic function bounded by it, so that the error is the
/// trait's own `on_unimplemented` text on the type, with no "required by a bound in
/// `frrhook::__private::...`" note pointing into frrhook's sources.
fn asserts(h: &Hook) -> TokenStream {
    let krate = &h.krate;
    let cfgs = &h.cfgs;
    let args = h.args.iter().map(|a| {
        let elem = &a.elem;
        let span = elem.span();
        let item = match a.mode {
            Mode::Mut => {
                quote_spanned!(span=> <#elem as #krate::__private::WriteBackCheck>::CHECK)
            }
            Mode::Ref | Mode::Value => {
                quote_spanned!(span=> <#elem as #krate::codec::LuaEncode>::encode)
            }
        };
        quote_spanned!(span=> #(#cfgs)* const _: () = { let _ = #item; };)
    });
    let results = h.results.iter().map(|r| {
        let ty = decoded_type(r);
        let span = ty.span();
        quote_spanned! {span=>
            #(#cfgs)* const _: () = { let _ = <#ty as #krate::codec::LuaDecode>::decode; };
        }
    });
    quote!(#(#args)* #(#results)*)
}

/// The generated section of the function's doc comment.
fn fn_doc(h: &Hook, n: &Names) -> TokenStream {
    let blank = (!h.doc.is_empty()).then(|| quote!(#[doc = ""]));
    let heading = name_doc(h, "# Hook point `", "`");
    let mut out = quote!(#blank #heading);
    let mut lines: Vec<String> = vec![String::new()];
    let lua_params: Vec<&str> = h
        .args
        .iter()
        .map(|a| a.lua_name.as_str())
        .chain(h.consts.iter().map(|c| c.lua_name.as_str()))
        .collect();
    lines.push(format!(
        " Calls the Lua functions attached to this hook on runtime `{RESERVED_PARAM}`, each as \
         `function {}({})`, and returns their results ([`{}`]). With nothing attached anywhere \
         in the process it returns the default results after one atomic load.",
        h.ident.unraw_string(),
        lua_params.join(", "),
        n.results,
    ));
    if !h.args.is_empty() || !h.consts.is_empty() {
        lines.push(String::new());
        lines.push(" | Argument | Type | Passed |".into());
        lines.push(" |---|---|---|".into());
        for a in &h.args {
            lines.push(format!(
                " | `{}` | `{}` | {} |",
                a.lua_name,
                cell(&type_string(&a.ty)),
                mode_phrase(a)
            ));
        }
        for c in &h.consts {
            lines.push(format!(
                " | `{}` | `integer` | constant `{}` |",
                c.lua_name, c.value
            ));
        }
    }
    if !h.results.is_empty() {
        lines.push(String::new());
        lines.push(" | Result | Type | When absent |".into());
        lines.push(" |---|---|---|".into());
        for r in &h.results {
            let absent = match &r.kind {
                ResultKind::Optional(_) => "`None`".to_string(),
                ResultKind::Default(e) => format!("`{}`", cell(&type_string(e))),
            };
            lines.push(format!(
                " | `{}` | `{}` | {} |",
                r.lua_name,
                cell(&type_string(&r.ty)),
                absent
            ));
        }
    }
    lines.push(String::new());
    lines.push(match h.on_error {
        OnError::FailClosed => {
            " If a script fails, the call returns the `HookError` and leaves every argument \
                                unchanged (`on_error = fail_closed`)."
                .into()
        }
        OnError::Defaults => {
            " If a script fails, the call returns the default results and leaves every argument \
                              unchanged; the error is logged and counted (`on_error = defaults`)."
                .into()
        }
    });
    for l in lines {
        out.extend(quote!(#[doc = #l]));
    }
    out
}

fn mode_phrase(a: &Arg) -> String {
    match a.mode {
        Mode::Ref | Mode::Value => "read-only".into(),
        Mode::Mut => format!(
            "written back when the returned table has key `{}`",
            a.lua_name
        ),
    }
}

/// Escapes `|` in a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// `#[doc = "<prefix><hook name><suffix>"]`; the default name is built with
/// `module_path!()`.
fn name_doc(h: &Hook, prefix: &str, suffix: &str) -> TokenStream {
    match &h.name {
        Some(lit) => {
            let s = format!(" {prefix}{}{suffix}", lit.value());
            quote!(#[doc = #s])
        }
        None => {
            let tail = format!("::{}{suffix}", h.ident.unraw_string());
            let prefix = format!(" {prefix}");
            quote!(#[doc = ::core::concat!(#prefix, ::core::module_path!(), #tail)])
        }
    }
}

/// What is emitted when the declaration has errors: the function with the same
/// parameters and a results struct with the same fields, so callers type-check and only
/// the real errors are reported.
pub fn stub(h: &Hook) -> TokenStream {
    let krate = &h.krate;
    let vis = &h.vis;
    let cfgs = &h.cfgs;
    let n = Names::of(h);
    let (args_ident, results_ident, fn_ident) = (&n.args, &n.results, &h.ident);
    let doc_attrs = &h.doc_attrs;
    let params = &h.stub_params;
    let generics = &h.stub_generics;
    let where_clause = &generics.where_clause;
    if let Some(receiver) = &h.stub_receiver {
        // Declared with `self`, so inside an `impl` block, which takes no structs: only
        // the method, so that calls to it still resolve.
        return quote! {
            #(#cfgs)*
            #(#doc_attrs)*
            #[allow(clippy::too_many_arguments, clippy::unimplemented, unused_variables)]
            #vis fn #fn_ident #generics (#receiver, _: &#krate::Runtime, #(_: #params),*)
                #where_clause
            {
                ::core::unimplemented!("#[hook_point] declaration with errors")
            }
        };
    }
    let fields = h.stub_results.iter().map(|(i, t)| quote!(pub #i: #t));
    quote! {
        #(#cfgs)*
        #(#doc_attrs)*
        #[allow(clippy::too_many_arguments, clippy::unimplemented)]
        #vis fn #fn_ident #generics (_: &#krate::Runtime, #(_: #params),*)
            -> ::core::result::Result<#results_ident, #krate::HookError>
            #where_clause
        {
            ::core::unimplemented!("#[hook_point] declaration with errors")
        }

        #(#cfgs)*
        #[allow(missing_docs, missing_debug_implementations)]
        #vis struct #results_ident {
            #(#fields,)*
        }

        #(#cfgs)*
        #[allow(missing_docs, missing_debug_implementations)]
        #vis struct #args_ident;

        #(#cfgs)*
        impl #args_ident {
            #[allow(missing_docs, clippy::unimplemented)]
            pub fn hook() -> &'static #krate::HookDescriptor {
                ::core::unimplemented!("#[hook_point] declaration with errors")
            }
        }
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}

/// Renders a type or expression the way it is usually written: `&mut Attributes`,
/// `Option<Vec<u8>>`, `String::new()`.
pub fn type_string(t: &impl ToTokens) -> String {
    let mut out = String::new();
    render(t.to_token_stream(), &mut out);
    out
}

fn render(tokens: TokenStream, out: &mut String) {
    let mut prev_word = false;
    let mut op = String::new();
    for tt in tokens {
        if let TokenTree::Punct(p) = &tt {
            op.push(p.as_char());
            if p.spacing() == Spacing::Joint && p.as_char() != '\'' {
                continue;
            }
            push_op(&op, out);
            // A lifetime's ident follows its `'` without a space.
            prev_word = false;
            op.clear();
            continue;
        }
        if !op.is_empty() {
            push_op(&op, out);
            op.clear();
        }
        match tt {
            TokenTree::Ident(i) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
                prev_word = true;
            }
            TokenTree::Literal(l) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
                prev_word = true;
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                if prev_word && g.delimiter() == Delimiter::Brace {
                    out.push(' ');
                }
                out.push_str(open);
                render(g.stream(), out);
                if out.ends_with(' ') {
                    out.pop();
                }
                out.push_str(close);
                prev_word = g.delimiter() == Delimiter::None;
            }
            TokenTree::Punct(_) => unreachable!(),
        }
    }
    if !op.is_empty() {
        push_op(&op, out);
    }
}

fn push_op(op: &str, out: &mut String) {
    match op {
        "," | ";" => {
            out.push_str(op);
            out.push(' ');
        }
        "+" | "=" | "->" | "=>" | "==" | "!=" | "<=" | ">=" | "+=" | "-=" => {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            out.push_str(op);
            out.push(' ');
        }
        _ => out.push_str(op),
    }
}
