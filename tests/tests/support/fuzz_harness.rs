//! The harness shared by the property test (`tests/tests/fuzz_returns.rs`) and the
//! cargo-fuzz target (`fuzz/fuzz_targets/returns.rs`): a hook whose arguments and results
//! cover every codec path, the keys and leaf values scripts return, and the check of one
//! case. Included by both with `#[path]`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use frrhook::{Limits, LuaCodec, Runtime, hook_point};
use ipnet::IpNet;

#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Rec {
    pub id: u32,
    pub name: String,
    #[lua(default)]
    pub tags: Vec<String>,
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, LuaCodec)]
pub enum Kind {
    Alpha,
    Beta,
}

#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub enum Change {
    Drop,
    SetMed(u32),
    Prepend { asn: u32, times: Option<u8> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub i: i64,
    pub u: u8,
    pub f: f64,
    pub s: String,
    pub v: Vec<u32>,
    pub m: BTreeMap<String, i64>,
    pub o: Option<u16>,
    pub p: IpNet,
    pub rec: Rec,
    pub kind: Kind,
    pub change: Change,
}

impl Args {
    pub fn sample() -> Self {
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
    pub fn same(&self, other: &Args) -> bool {
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
        ..
    )
)]
#[allow(clippy::too_many_arguments)]
pub fn everything(
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
pub const KEYS: &[&str] = &[
    "i", "u", "f", "s", "v", "m", "o", "p", "rec", "kind", "change", "r_i", "r_u", "r_f", "r_b",
    "r_s", "r_v", "r_m", "r_o", "r_p", "r_a", "r_rec", "r_kind", "r_change", "r_t", "id", "name",
    "tags", "weight", "type", "value", "asn", "times", "network", "length", "family", "a", "b",
    "junk",
];

/// Leaf expressions both generators use (each adds its own random numbers and strings).
pub const LEAVES: &[&str] = &[
    "nil",
    "true",
    "false",
    "0",
    "-1",
    "255",
    "256",
    "math.maxinteger",
    "math.mininteger",
    "-9223372036854775809",
    "0/0",
    "1/0",
    "-1/0",
    "2^63",
    "-2^63",
    "-0.0",
    "1.5",
    "1e308 * 10",
    r#""\xff\xfe""#,
    r#""abc\xc3""#,
    r#""""#,
    r#""10.0.0.0/24""#,
    r#""10.0.0.0/33""#,
    r#""::/129""#,
    r#""2001:db8::/32""#,
    r#""10.0.0.256""#,
    r#""Alpha""#,
    r#""Beta""#,
    r#""Drop""#,
    r#""SetMed""#,
    r#""Prepend""#,
    "string.rep('x', 300)",
    "function() end",
    "f",
    "coroutine.create(function() end)",
    "c",
    "setmetatable({}, { __index = function() error('meta') end, __len = function() return 3 end })",
];

/// The script of one case: a function returning `fields` (`key = expression`), with a
/// cyclic table `c` in scope.
pub fn script(fields: &[String]) -> String {
    format!(
        "function f(...)\n  local c = {{}}\n  c.self = c\n  c[1] = c\n  c.rec = c\n  return {{ {} }}\nend\n",
        fields.join(", ")
    )
}

/// A runtime with `fuzz.everything` attached to an empty function of script `fuzz`.
pub fn runtime() -> Runtime {
    let rt = Runtime::builder()
        .limits(Limits::default().instructions(1_000_000))
        .build();
    rt.add_script("fuzz", "function f() return {} end").unwrap();
    rt.attach("fuzz.everything", "fuzz", "f").unwrap();
    rt
}

pub fn call(rt: &Runtime, a: &mut Args) -> Result<EverythingResults, frrhook::HookError> {
    everything(
        rt,
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
}

/// How a case ended, when it kept every promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The script did not compile or its top level failed (a clean error too).
    DidNotLoad,
    /// The call succeeded.
    Called,
    /// The call failed and changed no argument.
    Failed,
}

/// Runs one case on `rt`: loads `source`, calls the hook, and checks the promises: no
/// panic, a failed call changes no argument, results read by name agree with the typed
/// ones, and the same state then runs a good function. `Err` says which promise broke.
pub fn check(rt: &Runtime, source: &str) -> Result<Outcome, String> {
    if rt.reload_source("fuzz", source).is_err() {
        return Ok(Outcome::DidNotLoad);
    }
    let mut a = Args::sample();
    let outcome = match call(rt, &mut a) {
        Ok(results) => {
            if results.get::<i64>("r_i").ok().flatten() != results.r_i {
                return Err(format!(
                    "r_i by name disagrees with the typed result\n{source}"
                ));
            }
            Outcome::Called
        }
        Err(e) => {
            if !a.same(&Args::sample()) {
                return Err(format!("a failed call changed arguments: {e}\n{source}"));
            }
            Outcome::Failed
        }
    };
    rt.reload_source("fuzz", "function f(i) return { i = 1 } end")
        .map_err(|e| format!("the state stopped loading: {e}"))?;
    let mut b = Args::sample();
    match call(rt, &mut b) {
        Ok(_) if b.i == 1 => Ok(outcome),
        other => Err(format!("the state stopped working: {other:?}")),
    }
}
