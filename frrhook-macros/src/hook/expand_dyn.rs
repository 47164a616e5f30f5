//! Expand, the type-erased entry: `.with_dyn_call(..)` appended to the descriptor.
//!
//! For `fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer)` it
//! generates a function `fn(&Runtime, &Lua, &[Value]) -> Result<DynOutcome, DynError>`
//! that
//! - decodes each value into the argument's owned type (`IpNet`, `Attributes`, `Peer`;
//!   `String` for `&str`, `Vec<T>` for `&[T]`) through the `ProbeFixture` probe: a type
//!   without `LuaDecode` is not a compile error but a run-time `DynError::Unbuildable`,
//!   since a hook may take encode-only arguments;
//! - builds the arguments struct from them and runs the chain with errors reported
//!   (`call_fail_closed`);
//! - encodes each declared result (through `LuaEncode` when the type has it, else by
//!   copying what the script returned) and every `&mut` argument after the call.
//!
//! Every use of a user type goes through a probe, so a type that fails its `assert_*`
//! adds no error here. Tools reach the function through `HookDescriptor::call_dyn`; the
//! typed call path never runs it.
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::camel;
use super::expand::type_string;
use super::model::{Hook, Mode};

/// `.with_dyn_call({ fn __frrhook_dyn_call(..) { .. } __frrhook_dyn_call })`.
pub fn with_dyn_call(h: &Hook) -> TokenStream {
    let krate = &h.krate;
    let c = camel(&h.ident);
    let span = h.ident.span();
    let args_ident = format_ident!("{}Args", c, span = span);
    let results_ident = format_ident!("{}Results", c, span = span);
    let count = h.args.len();
    let holders: Vec<_> = (0..count).map(|i| format_ident!("__arg{}", i)).collect();

    let decodes = h.args.iter().zip(&holders).enumerate().map(|(i, (a, v))| {
        let (elem, name) = (&a.elem, &a.lua_name);
        let rust_type = type_string(&a.ty);
        quote! {
            let mut #v = (&#krate::__private::Probe::<#elem>::new())
                .fixture_arg(&values[#i], #name, #rust_type)?;
        }
    });
    let fields = h.args.iter().zip(&holders).map(|(a, v)| {
        let ident = &a.ident;
        match a.mode {
            Mode::Ref => quote!(#ident: #krate::__private::HolderRef::holder_ref(&#v)),
            Mode::Mut => quote!(#ident: #krate::__private::HolderMut::holder_mut(&mut #v)),
            Mode::Value => quote!(#ident: #krate::__private::HolderTake::holder_take(#v)),
        }
    });
    let results = h.results.iter().map(|r| {
        let (ident, name, ty) = (&r.ident, &r.lua_name, &r.ty);
        quote! {
            #krate::__private::dyn_push_result(
                &mut __out,
                #name,
                (&#krate::__private::Probe::<#ty>::new())
                    .encode_result(lua, &__results.#ident, __results.__tables.__inner(), #name),
            )?;
        }
    });
    let written_back = h
        .args
        .iter()
        .zip(&holders)
        .filter(|(a, _)| a.mode == Mode::Mut)
        .map(|(a, v)| {
            let (elem, name) = (&a.elem, &a.lua_name);
            quote! {
                #krate::__private::dyn_push_written_back(
                    &mut __out,
                    #name,
                    (&#krate::__private::Probe::<#elem>::new())
                        .encode_value(lua, #krate::__private::HolderRef::holder_ref(&#v), #name),
                )?;
            }
        });

    quote! {
        .with_dyn_call({
            #[allow(unused_mut, unused_variables, clippy::needless_borrow)]
            fn __frrhook_dyn_call(
                rt: &#krate::Runtime,
                lua: &#krate::mlua::Lua,
                values: &[#krate::mlua::Value],
            ) -> ::core::result::Result<#krate::DynOutcome, #krate::DynError> {
                #[allow(unused_imports)]
                use #krate::__private::{
                    ProbeDynCall as _, ProbeDynCallFallback as _, ProbeEncodeResult as _,
                    ProbeEncodeResultFallback as _, ProbeEncodeValue as _,
                    ProbeEncodeValueFallback as _, ProbeFixture as _, ProbeFixtureFallback as _,
                };
                #krate::__private::dyn_arity(values, #count)?;
                #(#decodes)*
                let __called: ::core::result::Result<#results_ident, #krate::HookError> = {
                    let mut __args = #args_ident { #(#fields,)* };
                    (&#krate::__private::probe_of(&__args)).dyn_call_hook(rt, &mut __args)
                };
                let mut __out = <#krate::DynOutcome as ::core::default::Default>::default();
                match __called {
                    ::core::result::Result::Ok(__results) => {
                        #(#results)*
                        #krate::__private::dyn_other_keys(
                            &mut __out,
                            lua,
                            #args_ident::hook(),
                            __results.__tables.__inner(),
                        )?;
                    }
                    ::core::result::Result::Err(__e) => __out.error = ::core::option::Option::Some(__e),
                }
                #(#written_back)*
                ::core::result::Result::Ok(__out)
            }
            __frrhook_dyn_call
        })
    }
}
