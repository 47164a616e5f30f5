//! Bytes → a Lua function returning an arbitrary table → a hook whose arguments and
//! results cover every codec path. Never a panic; a failed call changes no argument;
//! the state keeps working.
//!
//! `cargo +nightly fuzz run returns` (from `fuzz/`); see docs/SECURITY.md.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use frrhook::{Limits, LuaCodec, Runtime, hook_point};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

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

#[hook_point(
    name = "fuzz.everything",
    results(
        r_i: Option<i64>,
        r_f: Option<f64>,
        r_s: Option<String>,
        r_v: Option<Vec<String>>,
        r_m: Option<HashMap<i64, bool>>,
        r_p: Option<IpNet>,
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

const KEYS: &[&str] = &[
    "i", "u", "f", "s", "v", "m", "o", "p", "rec", "kind", "change", "r_i", "r_f", "r_s", "r_v",
    "r_m", "r_p", "r_rec", "r_kind", "r_change", "r_t", "id", "name", "tags", "weight", "type",
    "value", "asn", "times", "network", "length", "family",
];

const LEAVES: &[&str] = &[
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
    "1e308*10",
    r#""\xff\xfe""#,
    r#""abc\xc3""#,
    r#""""#,
    r#""10.0.0.0/24""#,
    r#""10.0.0.0/33""#,
    r#""::/129""#,
    r#""2001:db8::/32""#,
    r#""Alpha""#,
    r#""Drop""#,
    r#""SetMed""#,
    r#""Prepend""#,
    "function() end",
    "f",
    "coroutine.create(function() end)",
    "c",
    "setmetatable({}, { __index = function() error('meta') end })",
];

/// Reads the expression grammar from `data`, one byte per choice.
struct Gen<'a> {
    data: &'a [u8],
}

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.byte() as usize % from.len()]
    }

    fn expr(&mut self, depth: u32) -> String {
        let b = self.byte();
        if depth >= 5 || self.data.is_empty() || b < 128 {
            return match b % 8 {
                0 => format!("({})", i64::from_le_bytes(self.eight())),
                1 => format!("({:?})", f64::from_le_bytes(self.eight()))
                    .replace("inf", "1/0")
                    .replace("NaN", "0/0"),
                _ => self.pick(LEAVES).to_string(),
            };
        }
        let n = self.byte() % 6;
        let items: Vec<String> = (0..n)
            .map(|_| match self.byte() % 3 {
                0 => self.expr(depth + 1),
                1 => format!("{} = {}", self.pick(KEYS), self.expr(depth + 1)),
                _ => format!("[{}] = {}", self.expr(depth + 1), self.expr(depth + 1)),
            })
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    fn eight(&mut self) -> [u8; 8] {
        std::array::from_fn(|_| self.byte())
    }
}

fn source(data: &[u8]) -> String {
    let mut g = Gen { data };
    let n = g.byte() % 8;
    let fields: Vec<String> = (0..n)
        .map(|_| format!("{} = {}", g.pick(KEYS), g.expr(0)))
        .collect();
    format!(
        "function f(...)\n  local c = {{}}\n  c.self = c\n  c[1] = c\n  return {{ {} }}\nend\n",
        fields.join(", ")
    )
}

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

fn sample() -> Args {
    Args {
        i: -5,
        u: 7,
        f: 1.5,
        s: "hello".into(),
        v: vec![1, 2, 3],
        m: BTreeMap::from([("a".into(), 1)]),
        o: Some(9),
        p: "10.0.0.0/24".parse().unwrap(),
        rec: Rec {
            id: 1,
            name: "r".into(),
            tags: vec![],
            weight: None,
        },
        kind: Kind::Alpha,
        change: Change::SetMed(5),
    }
}

fn call(rt: &Runtime, a: &mut Args) -> bool {
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
    .is_ok()
}

thread_local! {
    static RT: Runtime = {
        let rt = Runtime::builder()
            .limits(Limits::default().instructions(1_000_000))
            .build();
        rt.add_script("fuzz", "function f() return {} end").unwrap();
        rt.attach("fuzz.everything", "fuzz", "f").unwrap();
        rt
    };
}

fuzz_target!(|data: &[u8]| {
    let src = source(data);
    RT.with(|rt| {
        if rt.reload_source("fuzz", &src).is_err() {
            return;
        }
        let mut a = sample();
        if !call(rt, &mut a) {
            let b = sample();
            assert!(
                a.i == b.i
                    && a.u == b.u
                    && a.f == b.f
                    && a.s == b.s
                    && a.v == b.v
                    && a.m == b.m
                    && a.o == b.o
                    && a.p == b.p
                    && a.rec == b.rec
                    && a.kind == b.kind
                    && a.change == b.change,
                "a failed call changed arguments\n{src}"
            );
        }
        rt.reload_source("fuzz", "function f(i) return { i = 1 } end")
            .unwrap();
        let mut a = sample();
        assert!(call(rt, &mut a) && a.i == 1, "the state stopped working");
    });
});
