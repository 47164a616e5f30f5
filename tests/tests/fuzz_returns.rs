//! Property test: a script returning arbitrary Lua values, written as Lua *source*,
//! into every codec path of a hook (write-backs and declared results). The call never
//! panics, and when it fails no argument has changed.
//!
//! Each case builds a table constructor from a random tree of expressions (every scalar
//! type, NaN, ±inf, extreme integers, invalid UTF-8, prefix-looking strings, nested and
//! cyclic tables, tables with metatables, functions, coroutines), attaches it through a
//! reload, and calls the hook. Cases: proptest's default (256), or `PROPTEST_CASES`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use frrhook::{Limits, LuaCodec, Runtime, hook_point};
use ipnet::IpNet;
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, LuaCodec)]
struct Rec {
    id: u32,
    name: String,
    #[lua(default)]
    tags: Vec<String>,
    weight: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, LuaCodec)]
enum Kind {
    Alpha,
    Beta,
}

#[derive(Debug, Clone, PartialEq, LuaCodec)]
enum Change {
    Drop,
    SetMed(u32),
    Prepend { asn: u32, times: Option<u8> },
}

#[derive(Debug, Clone, PartialEq)]
struct Args {
    i: i64,
    u: u8,
    f: f64,
    s: String,
    v: Vec<u32>,
    m: BTreeMap<String, i64>,
    o: Option<u16>,
    p: IpNet,
    rec: Rec,
    kind: Kind,
    change: Change,
}

impl Args {
    fn sample() -> Self {
        Args {
            i: -5,
            u: 7,
            f: 1.5,
            s: "hello".into(),
            v: vec![1, 2, 3],
            m: BTreeMap::from([("a".into(), 1), ("b".into(), 2)]),
            o: Some(9),
            p: "10.0.0.0/24".parse().unwrap(),
            rec: Rec {
                id: 1,
                name: "r".into(),
                tags: vec!["t".into()],
                weight: None,
            },
            kind: Kind::Alpha,
            change: Change::SetMed(5),
        }
    }

    /// NaN-aware equality (the float may be NaN after a successful write-back).
    fn same(&self, other: &Args) -> bool {
        let f_eq = self.f == other.f || (self.f.is_nan() && other.f.is_nan());
        let w = |r: &Rec| r.weight.map(f64::to_bits);
        f_eq && self.i == other.i
            && self.u == other.u
            && self.s == other.s
            && self.v == other.v
            && self.m == other.m
            && self.o == other.o
            && self.p == other.p
            && (self.rec.id, &self.rec.name, &self.rec.tags, w(&self.rec))
                == (
                    other.rec.id,
                    &other.rec.name,
                    &other.rec.tags,
                    w(&other.rec),
                )
            && self.kind == other.kind
            && self.change == other.change
    }
}

/// Every codec path: scalars, strings, sequences, maps, options, prefixes, a derived
/// struct, a unit enum and a data enum, as write-backs and as results.
#[hook_point(
    name = "fuzz.everything",
    results(
        r_i: Option<i64>,
        r_u: Option<u8>,
        r_f: Option<f64>,
        r_b: Option<bool>,
        r_s: Option<String>,
        r_v: Option<Vec<String>>,
        r_m: Option<HashMap<i64, bool>>,
        r_o: Option<Vec<Option<u32>>>,
        r_p: Option<IpNet>,
        r_a: Option<std::net::IpAddr>,
        r_rec: Option<Rec>,
        r_kind: Option<Kind>,
        r_change: Option<Change>,
        r_t: Option<(i64, String)>,
    )
)]
#[allow(clippy::too_many_arguments)]
fn everything(
    i: &mut i64,
    u: &mut u8,
    f: &mut f64,
    s: &mut String,
    v: &mut Vec<u32>,
    m: &mut BTreeMap<String, i64>,
    o: &mut Option<u16>,
    p: &mut IpNet,
    rec: &mut Rec,
    kind: &mut Kind,
    change: &mut Change,
);

/// Keys a script may return: every argument, every result, record fields, tags, junk.
const KEYS: &[&str] = &[
    "i", "u", "f", "s", "v", "m", "o", "p", "rec", "kind", "change", "r_i", "r_u", "r_f", "r_b",
    "r_s", "r_v", "r_m", "r_o", "r_p", "r_a", "r_rec", "r_kind", "r_change", "r_t", "id", "name",
    "tags", "weight", "type", "value", "asn", "times", "network", "length", "family", "a", "b",
    "junk",
];

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("nil".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("255".to_string()),
        Just("256".to_string()),
        Just("math.maxinteger".to_string()),
        Just("math.mininteger".to_string()),
        Just("-9223372036854775809".to_string()),
        any::<i64>().prop_map(|n| format!("({n})")),
        Just("0/0".to_string()),
        Just("1/0".to_string()),
        Just("-1/0".to_string()),
        Just("2^63".to_string()),
        Just("-2^63".to_string()),
        Just("-0.0".to_string()),
        Just("1.5".to_string()),
        Just("1e308 * 10".to_string()),
        any::<f64>().prop_map(|x| format!("({x:?})").replace("inf", "1/0").replace("NaN", "0/0")),
        Just(r#""\xff\xfe""#.to_string()),
        Just(r#""abc\xc3""#.to_string()),
        Just(r#""""#.to_string()),
        Just(r#""10.0.0.0/24""#.to_string()),
        Just(r#""10.0.0.0/33""#.to_string()),
        Just(r#""::/129""#.to_string()),
        Just(r#""2001:db8::/32""#.to_string()),
        Just(r#""10.0.0.256""#.to_string()),
        Just(r#""Alpha""#.to_string()),
        Just(r#""Beta""#.to_string()),
        Just(r#""Drop""#.to_string()),
        Just(r#""SetMed""#.to_string()),
        Just(r#""Prepend""#.to_string()),
        Just("string.rep('x', 300)".to_string()),
        "[a-z0-9:./ ]{0,12}".prop_map(|s| format!("{s:?}")),
        Just("function() end".to_string()),
        Just("f".to_string()),
        Just("coroutine.create(function() end)".to_string()),
        Just("c".to_string()),
        Just("setmetatable({}, { __index = function() error('meta') end, __len = function() return 3 end })".to_string()),
    ]
}

/// A Lua expression: a leaf or a table constructor of expressions.
fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            proptest::sample::select(KEYS).prop_map(|k| k.to_string()),
            inner.clone().prop_map(|e| format!("[{e}]")),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("{{{}}}", items.join(", "))),
            proptest::collection::vec((key, inner.clone()), 0..6).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| {
                        if k.starts_with('[') {
                            // `[nil] = x` and `[0/0] = x` raise in Lua; keep them, the
                            // call must fail cleanly then.
                            format!("{k} = {v}")
                        } else {
                            format!("{k} = {v}")
                        }
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }),
            (inner.clone(), 1..40usize).prop_map(|(e, n)| format!("{{{}}}", vec![e; n].join(", "))),
        ]
    })
}

/// The returned table: some keys of the hook, with arbitrary values.
fn returned() -> impl Strategy<Value = String> {
    proptest::collection::vec((proptest::sample::select(KEYS), expr()), 0..8).prop_map(
        |fields| {
            let body: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            format!(
                "function f(...)\n  local c = {{}}\n  c.self = c\n  c[1] = c\n  c.rec = c\n  return {{ {} }}\nend\n",
                body.join(", ")
            )
        },
    )
}

static CASES: AtomicU64 = AtomicU64::new(0);
static FAILED_CALLS: AtomicU64 = AtomicU64::new(0);
static FAILED_LOADS: AtomicU64 = AtomicU64::new(0);

fn runtime() -> Runtime {
    let rt = Runtime::builder()
        .limits(Limits::default().instructions(1_000_000))
        .build();
    rt.add_script("fuzz", "function f() return {} end").unwrap();
    rt.attach("fuzz.everything", "fuzz", "f").unwrap();
    rt
}

proptest! {
    #[test]
    fn arbitrary_returns_never_panic_and_failures_change_nothing(source in returned()) {
        thread_local! {
            static RT: Runtime = runtime();
        }
        CASES.fetch_add(1, Ordering::Relaxed);
        RT.with(|rt| {
            // Some sources do not even run (`[nil] = 1`): that is a clean error too.
            if rt.reload_source("fuzz", &source).is_err() {
                FAILED_LOADS.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let mut a = Args::sample();
            let before = a.clone();
            let r = everything(
                rt, &mut a.i, &mut a.u, &mut a.f, &mut a.s, &mut a.v, &mut a.m, &mut a.o,
                &mut a.p, &mut a.rec, &mut a.kind, &mut a.change,
            );
            match r {
                Ok(results) => {
                    // Results decoded: reading one again by name agrees.
                    prop_assert_eq!(results.get::<i64>("r_i").ok().flatten(), results.r_i);
                }
                Err(e) => {
                    FAILED_CALLS.fetch_add(1, Ordering::Relaxed);
                    prop_assert!(a.same(&before), "a failed call changed arguments: {e}\n{source}");
                }
            }
            // The same state keeps working.
            rt.reload_source("fuzz", "function f(i) return { i = 1 } end").unwrap();
            let mut b = Args::sample();
            everything(
                rt, &mut b.i, &mut b.u, &mut b.f, &mut b.s, &mut b.v, &mut b.m, &mut b.o,
                &mut b.p, &mut b.rec, &mut b.kind, &mut b.change,
            ).unwrap();
            prop_assert_eq!(b.i, 1);
            Ok(())
        })?;
    }
}

/// Checks the fixtures, and prints how many property cases ran in this process (run
/// `cargo test --test fuzz_returns -- --nocapture --test-threads=1`: the property test
/// sorts first, so it has run by then).
#[test]
fn fixtures_round_trip() {
    let rt = runtime();
    rt.reload_source(
        "fuzz",
        r#"function f(i, u, fl, s, v, m, o, p, rec, kind, change)
             return { i = i, u = u, f = fl, s = s, v = v, m = m, o = o, p = p, rec = rec,
                      kind = kind, change = change, r_t = { 1, "x" },
                      r_change = { type = "Prepend", asn = 1 } }
           end"#,
    )
    .unwrap();
    let mut a = Args::sample();
    let before = a.clone();
    let r = everything(
        &rt,
        &mut a.i,
        &mut a.u,
        &mut a.f,
        &mut a.s,
        &mut a.v,
        &mut a.m,
        &mut a.o,
        &mut a.p,
        &mut a.rec,
        &mut a.kind,
        &mut a.change,
    )
    .unwrap();
    assert!(a.same(&before));
    assert_eq!(r.r_t, Some((1, "x".to_string())));
    assert_eq!(
        r.r_change,
        Some(Change::Prepend {
            asn: 1,
            times: None
        })
    );
    eprintln!(
        "fuzz_returns: {} cases so far in this process: {} did not load, {} calls failed",
        CASES.load(Ordering::Relaxed),
        FAILED_LOADS.load(Ordering::Relaxed),
        FAILED_CALLS.load(Ordering::Relaxed)
    );
}
