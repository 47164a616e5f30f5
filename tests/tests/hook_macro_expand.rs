//! What `#[hook_point]` generates, checked without the runtime: the call with nothing
//! attached (the gate path) and the static descriptor.

use frrhook::__private::{HookArgs, HookRegistration};
use frrhook::codec::{LuaDecode, LuaEncode, LuaType, TypeRegistry};
use frrhook::{ArgMode, ErrorPolicy, HookDescriptor, Runtime, hook_point};
use frrhook_tests::{Attributes, Peer, RouteMapAction, sample_route};
use ipnet::IpNet;

/// Decide whether a route matches a route-map entry.
///
/// FRR's contract: codes as trailing arguments.
#[hook_point(
    name = "expand.route_match",
    results(action: Option<RouteMapAction>, note: String = String::from("none"), ..),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3),
    on_error = defaults
)]
pub fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);

/// Observe-only: a route was installed.
#[hook_point]
fn observed(table_id: u32, status: &str, communities: &[String]);

/// In/out scalar.
#[hook_point(
    name = "expand.scalar",
    results(
        /// How much the script moved the value.
        delta: i64 = -1,
        tags: Vec<String> = Vec::new(),
        r#type: Option<String>
    )
)]
fn scalar(value: &mut i64, label: String);

/// By-value arguments that borrow: the arguments struct gets a lifetime anyway.
#[hook_point]
fn borrowed(note: Option<&str>, name: std::borrow::Cow<str>, names: Vec<&'_ str>);

mod nested {
    use frrhook::hook_point;

    #[hook_point]
    pub(crate) fn inner(r#ref: Option<u8>);
}

fn rt() -> Runtime {
    Runtime::builder().build()
}

#[test]
fn nothing_attached_returns_defaults_and_leaves_arguments() {
    let rt = rt();
    let (prefix, mut attributes, peer) = sample_route();
    let before = attributes.clone();
    let r = route_match(&rt, &prefix, &mut attributes, &peer).expect("gate path");
    assert_eq!(r.action, None);
    assert_eq!(r.note, "none");
    assert_eq!(attributes, before);
    assert!(r.tables().tables().is_empty());
    assert_eq!(r.get::<i64>("anything").unwrap(), None);
    assert_eq!(
        format!("{r:?}"),
        r#"RouteMatchResults { action: None, note: "none", .. }"#
    );

    let mut v = 41;
    let r = scalar(&rt, &mut v, "x".to_owned()).unwrap();
    assert_eq!((r.delta, r.tags.len(), r.r#type, v), (-1, 0, None, 41));

    observed(&rt, 254, "installed", &["65000:1".to_owned()]).unwrap();
    nested::inner(&rt, Some(1)).unwrap();
    borrowed(&rt, Some("n"), "x".into(), vec!["a"]).unwrap();
    let label = String::from("y");
    BorrowedArgs {
        note: None,
        name: std::borrow::Cow::Borrowed(&label),
        names: Vec::new(),
    }
    .call(&rt)
    .unwrap();
}

#[test]
fn the_arguments_struct_is_the_same_call() {
    let rt = rt();
    let (prefix, mut attributes, peer) = sample_route();
    let args = RouteMatchArgs {
        prefix: &prefix,
        attributes: &mut attributes,
        peer: &peer,
    };
    let r = args.call(&rt).unwrap();
    assert_eq!((r.action, r.note.as_str()), (None, "none"));
    let r = ScalarArgs {
        value: &mut 1,
        label: String::new(),
    }
    .call(&rt)
    .unwrap();
    assert_eq!(r.delta, -1);
    // The runtime's fail-open path uses the same defaults.
    let d = <RouteMatchArgs<'_> as HookArgs>::default_results();
    assert_eq!((d.action, d.note.as_str()), (None, "none"));
    assert!(std::ptr::eq(
        RouteMatchArgs::hook(),
        <RouteMatchArgs<'_> as HookArgs>::descriptor()
    ));
}

type Shapes = Vec<(&'static str, LuaType)>;

/// The Lua shapes of the arguments and of the results.
fn lua_types(d: &HookDescriptor, reg: &mut TypeRegistry) -> (Shapes, Shapes) {
    (
        d.args.iter().map(|a| (a.name, (a.lua_type)(reg))).collect(),
        d.results
            .iter()
            .map(|r| (r.name, (r.lua_type)(reg)))
            .collect(),
    )
}

#[test]
fn route_match_descriptor() {
    let d = RouteMatchArgs::hook();
    assert_eq!(d.name, "expand.route_match");
    assert_eq!(
        d.doc,
        "Decide whether a route matches a route-map entry.\n\nFRR's contract: codes as trailing arguments."
    );
    assert_eq!(
        d.summary(),
        "Decide whether a route matches a route-map entry."
    );
    assert_eq!(d.rust_path, "hook_macro_expand::route_match");
    assert!(d.file.ends_with("hook_macro_expand.rs"), "{}", d.file);
    assert!(d.line > 1);
    assert_eq!(d.on_error, ErrorPolicy::Defaults);
    assert!(!d.is_attached());

    let args: Vec<_> = d
        .args
        .iter()
        .map(|a| (a.name, a.mode, a.rust_type))
        .collect();
    assert_eq!(
        args,
        [
            ("prefix", ArgMode::Ref, "&IpNet"),
            ("attributes", ArgMode::Mut, "&mut Attributes"),
            ("peer", ArgMode::Ref, "&Peer"),
            ("RM_FAILURE", ArgMode::Const(0), "i64"),
            ("RM_NOMATCH", ArgMode::Const(1), "i64"),
            ("RM_MATCH", ArgMode::Const(2), "i64"),
            ("RM_MATCH_AND_CHANGE", ArgMode::Const(3), "i64"),
        ]
    );
    assert!(
        d.args
            .iter()
            .map(|a| a.mode.written_back())
            .eq([false, true, false, false, false, false, false])
    );
    let results: Vec<_> = d
        .results
        .iter()
        .map(|r| (r.name, r.rust_type, r.default))
        .collect();
    assert_eq!(
        results,
        [
            ("action", "Option<RouteMapAction>", None),
            ("note", "String", Some("String::from(\"none\")"))
        ]
    );

    let mut reg = TypeRegistry::default();
    let (args, results) = lua_types(d, &mut reg);
    let mut expect = TypeRegistry::default();
    assert_eq!(
        args,
        [
            ("prefix", <IpNet as LuaEncode>::lua_type(&mut expect)),
            (
                "attributes",
                <Attributes as LuaEncode>::lua_type(&mut expect)
            ),
            ("peer", <Peer as LuaEncode>::lua_type(&mut expect)),
            ("RM_FAILURE", LuaType::Integer),
            ("RM_NOMATCH", LuaType::Integer),
            ("RM_MATCH", LuaType::Integer),
            ("RM_MATCH_AND_CHANGE", LuaType::Integer),
        ]
    );
    // `Option<T>` results are described by `T`: the shape of the key when present.
    assert_eq!(
        results,
        [
            (
                "action",
                <RouteMapAction as LuaDecode>::lua_type(&mut expect)
            ),
            ("note", LuaType::String)
        ]
    );
}

#[test]
fn default_names_are_module_paths() {
    let d = ObservedArgs::hook();
    assert_eq!(d.name, "hook_macro_expand::observed");
    assert_eq!(d.rust_path, "hook_macro_expand::observed");
    assert_eq!(d.doc, "Observe-only: a route was installed.");
    assert_eq!(d.on_error, ErrorPolicy::FailClosed);
    assert!(d.results.is_empty());
    let mut reg = TypeRegistry::default();
    let (args, _) = lua_types(d, &mut reg);
    assert_eq!(
        args,
        [
            ("table_id", LuaType::Integer),
            ("status", LuaType::String),
            ("communities", LuaType::Array(Box::new(LuaType::String))),
        ]
    );
    assert!(
        d.args
            .iter()
            .map(|a| a.mode)
            .eq([ArgMode::Value, ArgMode::Ref, ArgMode::Ref])
    );

    let d = nested::InnerArgs::hook();
    assert_eq!(d.name, "hook_macro_expand::nested::inner");
    assert_eq!(d.doc, "");
    assert_eq!((d.args[0].name, d.args[0].rust_type), ("ref", "Option<u8>"));
}

#[test]
fn scalar_descriptor() {
    let d = ScalarArgs::hook();
    let args: Vec<_> = d
        .args
        .iter()
        .map(|a| (a.name, a.mode, a.rust_type))
        .collect();
    assert_eq!(
        args,
        [
            ("value", ArgMode::Mut, "&mut i64"),
            ("label", ArgMode::Value, "String")
        ]
    );
    let results: Vec<_> = d
        .results
        .iter()
        .map(|r| (r.name, r.rust_type, r.default))
        .collect();
    assert_eq!(
        results,
        [
            ("delta", "i64", Some("-1")),
            ("tags", "Vec<String>", Some("Vec::new()")),
            ("type", "Option<String>", None),
        ]
    );
    let mut reg = TypeRegistry::default();
    let (_, results) = lua_types(d, &mut reg);
    assert_eq!(
        results,
        [
            ("delta", LuaType::Integer),
            ("tags", LuaType::Array(Box::new(LuaType::String))),
            ("type", LuaType::String),
        ]
    );
}

#[test]
fn every_hook_is_registered() {
    let names: Vec<&str> = frrhook::__private::inventory::iter::<HookRegistration>
        .into_iter()
        .map(|r| (r.0)().name)
        .collect();
    for name in [
        "expand.route_match",
        "expand.scalar",
        "hook_macro_expand::observed",
        "hook_macro_expand::nested::inner",
    ] {
        assert_eq!(
            names.iter().filter(|n| **n == name).count(),
            1,
            "{name} in {names:?}"
        );
    }
}
