//! `#[derive(LuaCodec)]`: round trips, in-place updates, error paths, enums, generics
//! and the LuaLS class registration, checked against a real Lua state.
use frrhook_codec::mlua::{Function, Lua, Value};
use frrhook_codec::{
    ClassKind, DecodeErrorKind, LuaCodec, LuaDecode, LuaEncode, LuaType, MAX_DEPTH, TypeRegistry,
};

/// An autonomous system number: a transparent newtype.
#[derive(LuaCodec, Debug, Clone, Copy, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Asn(u32);

/// Where the route came from.
#[derive(LuaCodec, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[lua(crate = "frrhook_codec", rename_all = "lowercase")]
enum Origin {
    /// Learned from an IGP.
    #[default]
    Igp,
    Egp,
    Incomplete,
}

/// The next hop of a route.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct NextHop {
    address: String,
    ifindex: u32,
}

/// A BGP route, shaped like FRR's route-map attributes.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Route {
    /// The destination prefix.
    prefix: String,
    nexthop: NextHop,
    metric: u32,
    /// Multi-exit discriminator; nil when unset.
    med: Option<u32>,
    communities: Vec<String>,
    origin: Origin,
    peer_as: Asn,
    #[lua(rename = "local_pref")]
    local_preference: u32,
}

fn route() -> Route {
    Route {
        prefix: "10.0.0.0/24".into(),
        nexthop: NextHop {
            address: "192.0.2.1".into(),
            ifindex: 3,
        },
        metric: 10,
        med: None,
        communities: vec!["65000:1".into(), "65000:2".into()],
        origin: Origin::Egp,
        peer_as: Asn(65001),
        local_preference: 100,
    }
}

/// Compiles `src` (a chunk returning a function) and returns the function.
fn function(lua: &Lua, src: &str) -> Function {
    lua.load(src).eval().expect("the test script compiles")
}

/// Evaluates a Lua expression.
fn eval(lua: &Lua, expr: &str) -> Value {
    lua.load(format!("return {expr}"))
        .eval()
        .expect("the test expression evaluates")
}

/// The entries of a table, integer keys first in numeric order, then the rest sorted.
fn sorted_entries(table: &frrhook_codec::mlua::Table) -> Vec<(String, Value)> {
    let mut pairs: Vec<((i64, String), Value)> = table
        .pairs::<Value, Value>()
        .map(|pair| {
            let (k, v) = pair.expect("a table pair");
            let key = match &k {
                Value::Integer(i) => (*i, format!("[{i}]")),
                Value::String(s) => (i64::MAX, s.to_string_lossy()),
                other => (i64::MAX, format!("[{}]", render(other))),
            };
            (key, v)
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.into_iter().map(|((_, k), v)| (k, v)).collect()
}

/// Renders a Lua value on one line with sorted keys, so that checks do not depend on
/// table order.
fn render(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => frrhook_codec::value::format_number(*n),
        Value::String(s) => format!("{:?}", s.to_string_lossy()),
        Value::Table(t) => {
            let body: Vec<String> = sorted_entries(t)
                .into_iter()
                .map(|(k, v)| format!("{k} = {}", render(&v)))
                .collect();
            format!("{{{}}}", body.join(", "))
        }
        other => frrhook_codec::type_name(other).to_string(),
    }
}

/// Renders a Lua value as an indented Lua table constructor with sorted keys.
fn render_pretty(value: &Value, indent: usize) -> String {
    match value {
        Value::Table(t) => {
            let pad = "  ".repeat(indent + 1);
            let body: String = sorted_entries(t)
                .into_iter()
                .map(|(k, v)| format!("{pad}{k} = {},\n", render_pretty(&v, indent + 1)))
                .collect();
            if body.is_empty() {
                "{}".into()
            } else {
                format!("{{\n{body}{}}}", "  ".repeat(indent))
            }
        }
        other => render(other),
    }
}

#[test]
fn route_round_trips_through_lua() {
    let lua = Lua::new();
    let mut r = route();
    let back = Route::decode(&r.encode(&lua).unwrap()).unwrap();
    assert_eq!(back, r);

    r.med = Some(20);
    let identity = function(&lua, "return function(r) return r end");
    let returned: Value = identity.call(r.encode(&lua).unwrap()).unwrap();
    assert_eq!(Route::decode(&returned).unwrap(), r);
}

#[test]
fn scripts_see_plain_tables() {
    let lua = Lua::new();
    let probe = function(
        &lua,
        r#"return function(r)
            return string.format("%s via %s/%d, metric %d, med %s, %d communities, 2nd %s, origin %s, as %d, lp %d",
                r.prefix, r.nexthop.address, r.nexthop.ifindex, r.metric, tostring(r.med),
                #r.communities, r.communities[2], r.origin, r.peer_as, r.local_pref)
        end"#,
    );
    let text: String = probe.call(route().encode(&lua).unwrap()).unwrap();
    assert_eq!(
        text,
        "10.0.0.0/24 via 192.0.2.1/3, metric 10, med nil, 2 communities, 2nd 65000:2, origin egp, as 65001, lp 100"
    );
}

#[test]
fn encoded_route_shape() {
    let lua = Lua::new();
    let mut r = route();
    insta::assert_snapshot!(
        "route_without_med",
        render_pretty(&r.encode(&lua).unwrap(), 0)
    );
    r.med = Some(50);
    insta::assert_snapshot!("route_with_med", render_pretty(&r.encode(&lua).unwrap(), 0));
}

#[test]
fn decode_into_changes_only_present_keys() {
    let lua = Lua::new();
    let mut r = route();
    r.med = Some(5);
    r.decode_into(&eval(&lua, "{ metric = 42 }")).unwrap();
    assert_eq!(
        r,
        Route {
            metric: 42,
            med: Some(5),
            ..route()
        }
    );

    // Nested structs are patched too, key by key.
    r.decode_into(&eval(
        &lua,
        "{ nexthop = { ifindex = 7 }, origin = 'incomplete' }",
    ))
    .unwrap();
    assert_eq!(
        r.nexthop,
        NextHop {
            address: "192.0.2.1".into(),
            ifindex: 7
        }
    );
    assert_eq!(r.origin, Origin::Incomplete);

    // An empty table changes nothing; extra keys are ignored, as FRR does.
    let before = r.clone();
    r.decode_into(&eval(&lua, "{ unknown = true, [1] = 'x' }"))
        .unwrap();
    assert_eq!(r, before);
}

#[test]
fn decode_into_is_all_or_nothing() {
    let lua = Lua::new();
    let mut r = route();
    // prefix and nexthop decode; metric, the third field, does not.
    let err = r
        .decode_into(&eval(
            &lua,
            "{ prefix = '192.0.2.0/24', nexthop = { ifindex = 9 }, metric = 'high' }",
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "metric: expected integer, got string (\"high\")"
    );
    assert_eq!(r, route());

    let err = r
        .decode_into(&eval(
            &lua,
            "{ metric = 1, communities = { 'a', 'b', true } }",
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "communities[3]: expected string, got boolean (true)"
    );
    assert_eq!(r, route());

    assert!(r.decode_into(&eval(&lua, "5")).is_err());
    assert_eq!(r, route());
}

#[test]
fn apply_update_returns_its_inverse() {
    let lua = Lua::new();
    let mut r = route();
    let update = r
        .prepare_update(&eval(
            &lua,
            "{ metric = 1, med = 2, nexthop = { address = '::1' } }",
        ))
        .unwrap();
    assert_eq!(r, route(), "prepare_update does not change the value");
    let undo = r.apply_update(update);
    assert_eq!(
        (r.metric, r.med, r.nexthop.address.as_str()),
        (1, Some(2), "::1")
    );
    r.apply_update(undo);
    assert_eq!(r, route());
}

#[test]
fn decode_errors_name_the_path() {
    let lua = Lua::new();
    let base =
        "prefix = 'p', metric = 1, communities = {}, origin = 'igp', peer_as = 1, local_pref = 1";
    let cases = [
        (
            format!("{{ {base}, nexthop = {{ address = 'a', ifindex = -1 }} }}"),
            "nexthop.ifindex: expected integer in 0..=4294967295 (u32), got -1",
        ),
        (
            format!("{{ {base}, nexthop = {{ address = 'a', ifindex = 1 }}, med = 'x' }}"),
            "med: expected integer, got string (\"x\")",
        ),
        (
            "{ prefix = 'p', nexthop = { address = 'a', ifindex = 1 }, metric = 1, communities = {}, \
             origin = 'bogus', peer_as = 1, local_pref = 1 }"
                .to_string(),
            "origin: expected one of \"igp\", \"egp\", \"incomplete\", got string (\"bogus\")",
        ),
        (
            "{ prefix = 'p', nexthop = { address = 'a', ifindex = 1 }, metric = 1, communities = {}, \
             origin = 1, peer_as = 1, local_pref = 1 }"
                .to_string(),
            "origin: expected string, got integer (1)",
        ),
        (
            "{ prefix = 'p', nexthop = { address = 'a', ifindex = 1 }, metric = 1, communities = {}, \
             origin = 'igp', peer_as = 2^40, local_pref = 1 }"
                .to_string(),
            "peer_as: expected integer in 0..=4294967295 (u32), got 1099511627776.0",
        ),
        (format!("{{ {base}, nexthop = 'a' }}"), "nexthop: expected table, got string (\"a\")"),
        ("true".to_string(), "expected table, got boolean (true)"),
    ];
    for (src, expected) in cases {
        let err = Route::decode(&eval(&lua, &src)).unwrap_err();
        assert_eq!(err.to_string(), expected, "decoding {src}");
    }
}

#[test]
fn missing_required_fields() {
    let lua = Lua::new();
    let err = Route::decode(&eval(&lua, "{ prefix = 'p' }")).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::MissingField("nexthop".into()));
    assert_eq!(err.to_string(), "missing required field `nexthop`");

    let v = eval(
        &lua,
        "{ prefix = 'p', nexthop = { ifindex = 1 }, metric = 1, communities = {}, origin = 'igp', \
         peer_as = 1, local_pref = 1 }",
    );
    assert_eq!(
        Route::decode(&v).unwrap_err().to_string(),
        "nexthop: missing required field `address`"
    );

    // nil is absent; an absent Option is None.
    let v = eval(
        &lua,
        "{ prefix = 'p', nexthop = { address = 'a', ifindex = 1 }, metric = 1, med = nil, \
         communities = {}, origin = 'igp', peer_as = 1 }",
    );
    assert_eq!(
        Route::decode(&v).unwrap_err().to_string(),
        "missing required field `local_pref`"
    );
}

fn default_ttl() -> u8 {
    64
}

/// Options exercising skip, default and rename.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Session {
    #[lua(skip)]
    cache: Vec<u8>,
    #[lua(default)]
    weight: u32,
    #[lua(default = "default_ttl")]
    ttl: u8,
    #[lua(rename = "type")]
    kind: String,
    r#in: bool,
}

#[test]
fn skip_default_and_rename() {
    let lua = Lua::new();
    let s = Session {
        cache: vec![1, 2],
        weight: 5,
        ttl: 1,
        kind: "ebgp".into(),
        r#in: true,
    };
    let v = s.encode(&lua).unwrap();
    assert_eq!(
        render(&v),
        r#"{in = true, ttl = 1, type = "ebgp", weight = 5}"#
    );

    let back = Session::decode(&eval(&lua, "{ type = 'ibgp', ['in'] = false }")).unwrap();
    assert_eq!(
        back,
        Session {
            cache: vec![],
            weight: 0,
            ttl: 64,
            kind: "ibgp".into(),
            r#in: false
        }
    );

    let mut s2 = s.clone();
    s2.decode_into(&eval(&lua, "{ type = 'ibgp', cache = 'ignored' }"))
        .unwrap();
    assert_eq!(
        s2,
        Session {
            kind: "ibgp".into(),
            ..s
        }
    );

    let err = Session::decode(&eval(&lua, "{ kind = 'ibgp', ['in'] = false }")).unwrap_err();
    assert_eq!(err.to_string(), "missing required field `type`");
}

/// FRR's route-map return codes, as integers.
#[derive(LuaCodec, Debug, Clone, Copy, PartialEq, Eq)]
#[lua(crate = "frrhook_codec", repr = "integer")]
enum Action {
    /// The script failed.
    Failure = 0,
    NoMatch,
    Match = 5,
    MatchAndChange,
    #[lua(value = -1)]
    Abstain,
}

/// Address families, renamed.
#[derive(LuaCodec, Debug, Clone, Copy, PartialEq, Eq)]
#[lua(
    crate = "frrhook_codec",
    rename_all = "snake_case",
    rename = "AddressFamily"
)]
enum Family {
    Ipv4Unicast,
    L2vpnEvpn,
    #[lua(rename = "flowspec")]
    Ipv4Flowspec,
}

#[test]
fn unit_enums_as_strings() {
    let lua = Lua::new();
    let names: Vec<String> = [Family::Ipv4Unicast, Family::L2vpnEvpn, Family::Ipv4Flowspec]
        .iter()
        .map(|f| render(&f.encode(&lua).unwrap()))
        .collect();
    assert_eq!(
        names,
        ["\"ipv4_unicast\"", "\"l2vpn_evpn\"", "\"flowspec\""]
    );
    assert_eq!(
        Family::decode(&eval(&lua, "'l2vpn_evpn'")).unwrap(),
        Family::L2vpnEvpn
    );
    assert_eq!(
        Family::decode(&eval(&lua, "'Ipv4Unicast'"))
            .unwrap_err()
            .to_string(),
        "expected one of \"ipv4_unicast\", \"l2vpn_evpn\", \"flowspec\", got string (\"Ipv4Unicast\")"
    );
    let mut f = Family::Ipv4Unicast;
    assert!(f.decode_into(&eval(&lua, "'nope'")).is_err());
    assert_eq!(f, Family::Ipv4Unicast);
    f.decode_into(&eval(&lua, "'flowspec'")).unwrap();
    assert_eq!(f, Family::Ipv4Flowspec);
}

#[test]
fn unit_enums_as_integers() {
    let lua = Lua::new();
    let all = [
        Action::Failure,
        Action::NoMatch,
        Action::Match,
        Action::MatchAndChange,
        Action::Abstain,
    ];
    let codes: Vec<String> = all
        .iter()
        .map(|a| render(&a.encode(&lua).unwrap()))
        .collect();
    assert_eq!(codes, ["0", "1", "5", "6", "-1"]);
    for a in all {
        assert_eq!(Action::decode(&a.encode(&lua).unwrap()).unwrap(), a);
    }
    assert_eq!(
        Action::decode(&eval(&lua, "6.0")).unwrap(),
        Action::MatchAndChange
    );
    assert_eq!(
        Action::decode(&eval(&lua, "2")).unwrap_err().to_string(),
        "expected one of 0 (Failure), 1 (NoMatch), 5 (Match), 6 (MatchAndChange), -1 (Abstain), got integer (2)"
    );
    assert_eq!(
        Action::decode(&eval(&lua, "'match'"))
            .unwrap_err()
            .to_string(),
        "expected integer, got string (\"match\")"
    );
}

/// A change a policy asks for.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
enum Change {
    /// Drop the route.
    Drop,
    SetMed(u32),
    Prepend {
        /// The AS to prepend.
        asn: Asn,
        times: Option<u8>,
    },
    Tag(Option<u32>),
}

/// The same shape with a custom tag key.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec", tag = "kind", rename_all = "kebab-case")]
enum Verdict {
    Accept,
    SetMetric { metric: u32 },
}

#[test]
fn data_enums_are_tagged_tables() {
    let lua = Lua::new();
    let cases = [
        (Change::Drop, r#"{type = "Drop"}"#),
        (Change::SetMed(7), r#"{type = "SetMed", value = 7}"#),
        (
            Change::Prepend {
                asn: Asn(65000),
                times: Some(3),
            },
            r#"{asn = 65000, times = 3, type = "Prepend"}"#,
        ),
        (
            Change::Prepend {
                asn: Asn(65000),
                times: None,
            },
            r#"{asn = 65000, type = "Prepend"}"#,
        ),
        (Change::Tag(None), r#"{type = "Tag"}"#),
    ];
    for (change, shape) in cases {
        let v = change.encode(&lua).unwrap();
        assert_eq!(render(&v), shape);
        assert_eq!(Change::decode(&v).unwrap(), change);
    }
    let v = Verdict::SetMetric { metric: 3 }.encode(&lua).unwrap();
    assert_eq!(render(&v), r#"{kind = "set-metric", metric = 3}"#);
    assert_eq!(
        Verdict::decode(&eval(&lua, "{ kind = 'accept' }")).unwrap(),
        Verdict::Accept
    );

    let errors = [
        ("{}", "missing required field `type`"),
        ("{ type = 1 }", "type: expected string, got integer (1)"),
        (
            "{ type = 'Nope' }",
            "type: expected one of \"Drop\", \"SetMed\", \"Prepend\", \"Tag\", got string (\"Nope\")",
        ),
        ("{ type = 'SetMed' }", "missing required field `value`"),
        (
            "{ type = 'SetMed', value = -3 }",
            "value: expected integer in 0..=4294967295 (u32), got -3",
        ),
        (
            "{ type = 'Prepend', asn = 1, times = 300 }",
            "times: expected integer in 0..=255 (u8), got 300",
        ),
        ("'Drop'", "expected table, got string (\"Drop\")"),
    ];
    for (src, expected) in errors {
        assert_eq!(
            Change::decode(&eval(&lua, src)).unwrap_err().to_string(),
            expected,
            "decoding {src}"
        );
    }

    // Whole replacement on decode_into, untouched on error.
    let mut c = Change::SetMed(1);
    assert!(c.decode_into(&eval(&lua, "{ type = 'Prepend' }")).is_err());
    assert_eq!(c, Change::SetMed(1));
    c.decode_into(&eval(&lua, "{ type = 'Prepend', asn = 3 }"))
        .unwrap();
    assert_eq!(
        c,
        Change::Prepend {
            asn: Asn(3),
            times: None
        }
    );
}

/// A generic pair.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Pair<A, B> {
    first: A,
    second: B,
    #[lua(skip)]
    scratch: Option<B>,
}

/// A generic newtype.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Wrapper<T>(T);

/// A generic enum with a defaulted generic field.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
enum Either<L, R> {
    Left(L),
    Right {
        #[lua(default)]
        value: R,
    },
}

#[test]
fn generics() {
    let lua = Lua::new();
    let p = Pair {
        first: 1u8,
        second: "x".to_string(),
        scratch: Some("y".to_string()),
    };
    let v = p.encode(&lua).unwrap();
    assert_eq!(render(&v), r#"{first = 1, second = "x"}"#);
    assert_eq!(
        Pair::<u8, String>::decode(&v).unwrap(),
        Pair { scratch: None, ..p }
    );

    let w = Wrapper(vec![Wrapper(1u16), Wrapper(2)]);
    let v = w.encode(&lua).unwrap();
    assert_eq!(render(&v), "{[1] = 1, [2] = 2}");
    assert_eq!(Wrapper::<Vec<Wrapper<u16>>>::decode(&v).unwrap(), w);

    let e: Either<u8, Vec<u32>> = Either::decode(&eval(&lua, "{ type = 'Right' }")).unwrap();
    assert_eq!(e, Either::Right { value: vec![] });

    let mut reg = TypeRegistry::default();
    let ty = <Pair<u8, String> as LuaEncode>::lua_type(&mut reg);
    assert_eq!(ty.to_string(), "Pair<integer, string>");
    let ty = <Pair<String, u8> as LuaDecode>::lua_type(&mut reg);
    assert_eq!(ty.to_string(), "Pair<string, integer>");
    assert_eq!(
        <Wrapper<bool> as LuaEncode>::lua_type(&mut reg),
        LuaType::Boolean
    );
    assert!(
        reg.get("Pair<integer, string>").is_some() && reg.get("Pair<string, integer>").is_some()
    );
}

#[test]
fn lua_type_registers_classes() {
    let mut reg = TypeRegistry::default();
    assert_eq!(
        <Route as LuaEncode>::lua_type(&mut reg),
        LuaType::Named("Route".into())
    );
    let names: Vec<&str> = reg.classes().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["NextHop", "Origin", "Route"]);

    let route = reg.get("Route").unwrap();
    assert_eq!(
        route.doc,
        "A BGP route, shaped like FRR's route-map attributes."
    );
    let ClassKind::Class(fields) = &route.kind else {
        panic!("Route is a class")
    };
    let summary: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", f.name, f.ty))
        .collect();
    assert_eq!(
        summary,
        [
            "prefix: string",
            "nexthop: NextHop",
            "metric: integer",
            "med: integer?",
            "communities: string[]",
            "origin: Origin",
            "peer_as: integer",
            "local_pref: integer",
        ]
    );
    assert_eq!(fields[0].doc, "The destination prefix.");
    assert_eq!(fields[3].doc, "Multi-exit discriminator; nil when unset.");

    let origin = reg.get("Origin").unwrap();
    assert_eq!(
        origin.doc,
        "Where the route came from.\n\"igp\": Learned from an IGP."
    );
    assert_eq!(
        origin.kind,
        ClassKind::Alias(LuaType::Union(vec![
            LuaType::Literal("igp".into()),
            LuaType::Literal("egp".into()),
            LuaType::Literal("incomplete".into()),
        ]))
    );

    // Both impls describe the same class.
    let mut reg2 = TypeRegistry::default();
    <Route as LuaDecode>::lua_type(&mut reg2);
    assert_eq!(reg2.get("Route"), reg.get("Route"));

    assert_eq!(
        <Family as LuaDecode>::lua_type(&mut reg).to_string(),
        "AddressFamily"
    );
    let action = <Action as LuaEncode>::lua_type(&mut reg);
    assert_eq!(action, LuaType::Named("Action".into()));
    let action = reg.get("Action").unwrap();
    assert_eq!(action.kind, ClassKind::Alias(LuaType::Integer));
    assert_eq!(
        action.doc,
        "FRR's route-map return codes, as integers.\nValues: 0 = Failure: The script failed., 1 = NoMatch, \
         5 = Match, 6 = MatchAndChange, -1 = Abstain"
    );

    <Change as LuaEncode>::lua_type(&mut reg);
    let change = reg.get("Change").unwrap();
    let ClassKind::Class(fields) = &change.kind else {
        panic!("Change is a class")
    };
    let summary: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {} -- {}", f.name, f.ty, f.doc))
        .collect();
    assert_eq!(
        summary,
        [
            "type: \"Drop\"|\"SetMed\"|\"Prepend\"|\"Tag\" -- The variant.\n\"Drop\": Drop the route.",
            "value: integer? -- Present when `type` is \"SetMed\" or \"Tag\".",
            "asn: integer? -- The AS to prepend.\nPresent when `type` is \"Prepend\".",
            "times: integer? -- Present when `type` is \"Prepend\".",
        ]
    );
}

/// A recursive type, to decode a cyclic table into.
#[derive(LuaCodec, Debug, Clone, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Tree {
    label: String,
    child: Option<Box<Tree>>,
}

#[test]
fn cyclic_tables_are_an_error_not_a_crash() {
    let lua = Lua::new();
    let v: Value = lua
        .load("local t = { label = 'x' }; t.child = t; return t")
        .eval()
        .unwrap();
    let err = Tree::decode(&v).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::TooDeep);
    assert_eq!(
        err.path().count(),
        MAX_DEPTH as usize,
        "one `child` per level entered"
    );
    let mut t = Tree {
        label: "root".into(),
        child: None,
    };
    assert!(t.decode_into(&v).is_err());
    assert_eq!(t.label, "root");

    let ok: Value = eval(&lua, "{ label = 'a', child = { label = 'b' } }");
    let tree = Tree::decode(&ok).unwrap();
    assert_eq!(tree.child.unwrap().label, "b");
}

/// A borrowed view: only `LuaEncode` is derived for types with lifetimes.
#[derive(LuaCodec)]
#[lua(crate = "frrhook_codec")]
struct View<'a> {
    name: &'a str,
    ids: &'a [u32],
}

#[test]
fn borrowed_types_encode() {
    let lua = Lua::new();
    let ids = [1, 2];
    let v = View {
        name: "peer",
        ids: &ids,
    }
    .encode(&lua)
    .unwrap();
    assert_eq!(render(&v), r#"{ids = {[1] = 1, [2] = 2}, name = "peer"}"#);
}

/// A struct with no decodable field still requires a table.
#[derive(LuaCodec, Debug, Default, PartialEq, Eq)]
#[lua(crate = "frrhook_codec")]
struct Empty {
    #[lua(skip)]
    hidden: u8,
}

#[test]
fn empty_structs() {
    let lua = Lua::new();
    assert_eq!(render(&Empty { hidden: 3 }.encode(&lua).unwrap()), "{}");
    assert_eq!(
        Empty::decode(&eval(&lua, "{ hidden = 9 }")).unwrap(),
        Empty::default()
    );
    let mut e = Empty { hidden: 3 };
    e.decode_into(&eval(&lua, "{}")).unwrap();
    assert_eq!(e.hidden, 3);
    assert_eq!(
        e.decode_into(&eval(&lua, "1")).unwrap_err().to_string(),
        "expected table, got integer (1)"
    );
}
