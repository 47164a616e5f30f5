//! The cost of the limits on a route-map call, and of the ways to enforce the memory cap.
//!
//! | group | ids | what |
//! |---|---|---|
//! | `limits` | `off`, `instructions`, `instructions_deadline`, `all`, `memory` | a route_match hook on a runtime with no limits, the instruction budget, the budget and the deadline, all three (budget, deadline, memory cap: the default), the memory cap alone |
//! | `tick` (stderr only) | as `limits` | a hook whose script is `return { n = n + 1 }`: the limits' fixed cost per call |
//! | `memory_cap` | `mlua_no_cap`, `mlua_cap_around_call`, `mlua_cap_always_on` | the same route-map written by hand with mlua, FRR style (fresh tables per call), with mlua's memory limit off, switched on only around the Lua call (what frrhook does), and left on all the time |
//!
//! Run: `cargo bench -p frrhook --bench limits`. Results: `target/criterion/<group>/<id>/`.
//! Numbers and the choice they support: `docs/SECURITY.md`.
//!
//! Timed with the benchmarking thread's CPU clock, as `benches/hooks.rs` (on a shared
//! 2-core machine the wall clock also counts other processes). Even so, the same id
//! moved by ±30 % between runs on a loaded machine, more than the differences measured
//! here; so the run starts with an interleaved measurement (`interleaved` on stderr):
//! 101 rounds, each running 400 calls of every variant in turn, and the median over the
//! rounds of each variant's time divided by `off`'s time in the same round. Drift in the
//! machine's load hits both sides of each ratio alike.

mod common;

use std::hint::black_box;

use common::{ThreadCpu, group_config, thread_cpu_ns};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use frrhook::mlua::{Function, Lua, Table, Value};
use frrhook::{Limits, Runtime, hook_point};
use ipnet::IpNet;

/// Route types local to this bench, in FRR's `lua_pushattr` / `lua_pushpeer` shapes.
mod types {
    use frrhook::LuaCodec;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, LuaCodec)]
    #[lua(repr = "integer")]
    pub enum Action {
        Failure = 0,
        NoMatch = 1,
        Match = 2,
        MatchAndChange = 3,
    }

    #[derive(Debug, Clone, PartialEq, LuaCodec)]
    pub struct Attributes {
        pub metric: u32,
        pub ifindex: u32,
        pub aspath: String,
        pub localpref: u32,
        #[lua(default)]
        pub community: Vec<String>,
    }

    #[derive(Debug, Clone, Default, PartialEq, LuaCodec)]
    pub struct PeerStats {
        pub update_in: u64,
        pub update_out: u64,
    }

    #[derive(Debug, Clone, PartialEq, LuaCodec)]
    pub struct Peer {
        pub remote_as: u32,
        pub local_as: u32,
        pub state: String,
        pub stats: PeerStats,
    }
}

use types::{Action, Attributes, Peer, PeerStats};

/// A route-map hook in FRR's contract.
#[hook_point(
    name = "bench_limits.route_match",
    results(action: Option<Action>),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3)
)]
fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);

/// A near-empty hook, to see the limits' fixed cost per call.
#[hook_point(name = "bench_limits.tick")]
fn tick(n: &mut i64);

/// A route-map of the usual kind: a prefix test, a community scan, an AS-path test, a
/// metric change: a few dozen VM instructions per call.
const SCRIPT: &str = r#"
function route_match(prefix, attributes, peer, RM_FAILURE, RM_NOMATCH, RM_MATCH, RM_MATCH_AND_CHANGE)
  if prefix.length > 24 then return { action = RM_NOMATCH } end
  local tagged = false
  for _, c in ipairs(attributes.community) do
    if c == "65001:666" then return { action = RM_NOMATCH } end
    if c:sub(1, 6) == "65001:" then tagged = true end
  end
  if tagged and peer.stats.update_in % 2 == 1 then
    attributes.metric = attributes.metric + 10
    attributes.localpref = 200
    return { action = RM_MATCH_AND_CHANGE, attributes = attributes }
  end
  return { action = RM_MATCH }
end
"#;

fn route() -> (IpNet, Attributes, Peer) {
    (
        "203.0.113.0/24".parse().unwrap(),
        Attributes {
            metric: 10,
            ifindex: 2,
            aspath: "65001 65002 65003".into(),
            localpref: 100,
            community: vec!["65001:100".into(), "65002:200".into(), "65003:300".into()],
        },
        Peer {
            remote_as: 65001,
            local_as: 65000,
            state: "Established".into(),
            stats: PeerStats {
                update_in: 7,
                update_out: 3,
            },
        },
    )
}

fn runtime(limits: Limits) -> Runtime {
    let rt = Runtime::builder().limits(limits).build();
    rt.add_script("policy", SCRIPT).unwrap();
    rt.attach("bench_limits.route_match", "policy", "route_match")
        .unwrap();
    rt
}

fn variants() -> [(&'static str, Limits); 5] {
    let d = Limits::default();
    [
        ("off", Limits::none()),
        (
            "instructions",
            Limits::none().instructions(d.instruction_budget().unwrap()),
        ),
        ("instructions_deadline", d.no_memory_limit()),
        ("all", d),
        ("memory", Limits::none().memory(d.memory_cap().unwrap())),
    ]
}

/// A named benchmark body for [`interleave`].
type Variant<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Runs every variant `CALLS` times in turn, for `ROUNDS` rounds, and prints each one's
/// median per-call CPU time and the median ratio to the first variant.
fn interleave(group: &str, variants: &mut [Variant<'_>]) {
    const ROUNDS: usize = 101;
    const CALLS: usize = 400;
    let mut times = vec![Vec::with_capacity(ROUNDS); variants.len()];
    for round in 0..=ROUNDS {
        for (i, (_, f)) in variants.iter_mut().enumerate() {
            let start = thread_cpu_ns();
            for _ in 0..CALLS {
                f();
            }
            let ns = (thread_cpu_ns() - start) as f64 / CALLS as f64;
            if round > 0 {
                // round 0 warms up
                times[i].push(ns);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    eprintln!(
        "interleaved: {group}: {ROUNDS} rounds x {CALLS} calls; median per call; median ratio to {}",
        variants[0].0
    );
    for (i, (id, _)) in variants.iter().enumerate() {
        let mut ratios: Vec<f64> = times[i].iter().zip(&times[0]).map(|(t, o)| t / o).collect();
        let mut t = times[i].clone();
        let (med, ratio) = (median(&mut t), median(&mut ratios));
        let (lo, hi) = (ratios[ROUNDS / 4], ratios[ROUNDS * 3 / 4]);
        eprintln!(
            "interleaved: {group}/{id:<22} {med:>8.0} ns  x{ratio:.3}  (quartiles {lo:.3}..{hi:.3})"
        );
    }
}

fn interleaved(_: &mut Criterion<ThreadCpu>) {
    let (prefix, attributes, peer) = route();
    let rts: Vec<(&str, Runtime)> = variants()
        .into_iter()
        .map(|(id, l)| (id, runtime(l)))
        .collect();
    let mut fs: Vec<Variant<'_>> = rts
        .iter()
        .map(|(id, rt)| {
            let mut a = attributes.clone();
            let (prefix, peer) = (&prefix, &peer);
            let f: Box<dyn FnMut()> = Box::new(move || {
                a.metric = 10;
                black_box(route_match(rt, black_box(prefix), &mut a, black_box(peer)).unwrap());
            });
            (*id, f)
        })
        .collect();
    interleave("limits", &mut fs);

    let rts: Vec<(&str, Runtime)> = variants()
        .into_iter()
        .map(|(id, l)| {
            let rt = Runtime::builder().limits(l).build();
            rt.add_script("tick", "function tick(n) return { n = n + 1 } end")
                .unwrap();
            rt.attach("bench_limits.tick", "tick", "tick").unwrap();
            (id, rt)
        })
        .collect();
    let mut fs: Vec<Variant<'_>> = rts
        .iter()
        .map(|(id, rt)| {
            let mut n = 0i64;
            let f: Box<dyn FnMut()> = Box::new(move || {
                tick(rt, &mut n).unwrap();
                black_box(n);
            });
            (*id, f)
        })
        .collect();
    interleave("tick", &mut fs);

    let cap = Limits::default().memory_cap().unwrap();
    let (h0, h1, h2) = (ByHand::new(), ByHand::new(), ByHand::new());
    h2.lua.set_memory_limit(cap).unwrap();
    let (mut a0, mut a1, mut a2) = (attributes.clone(), attributes.clone(), attributes.clone());
    let mut fs: Vec<Variant<'_>> = vec![
        (
            "mlua_no_cap",
            Box::new(|| {
                a0.metric = 10;
                black_box(h0.call(&prefix, &mut a0, &peer));
            }),
        ),
        (
            "mlua_cap_around_call",
            Box::new(|| {
                a1.metric = 10;
                h1.lua.set_memory_limit(cap).unwrap();
                black_box(h1.call(&prefix, &mut a1, &peer));
                h1.lua.set_memory_limit(0).unwrap();
            }),
        ),
        (
            "mlua_cap_always_on",
            Box::new(|| {
                a2.metric = 10;
                black_box(h2.call(&prefix, &mut a2, &peer));
            }),
        ),
    ];
    interleave("memory_cap", &mut fs);
}

fn bench_limits(c: &mut Criterion<ThreadCpu>) {
    let (prefix, attributes, peer) = route();
    let mut g = group_config(c, "limits");
    for (id, limits) in variants() {
        let rt = runtime(limits);
        let mut a = attributes.clone();
        assert_eq!(
            route_match(&rt, &prefix, &mut a, &peer).unwrap().action,
            Some(Action::MatchAndChange)
        );
        g.bench_function(id, |b| {
            b.iter_batched_ref(
                || attributes.clone(),
                |a| {
                    black_box(
                        route_match(&rt, black_box(&prefix), a, black_box(&peer))
                            .unwrap()
                            .action,
                    )
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// The route-map by hand, FRR style: fresh tables for every argument on every call.
struct ByHand {
    lua: Lua,
    f: Function,
}

impl ByHand {
    fn new() -> Self {
        let lua = Lua::new();
        lua.load(SCRIPT).exec().unwrap();
        let f = lua.globals().get("route_match").unwrap();
        ByHand { lua, f }
    }

    fn call(&self, prefix: &IpNet, a: &mut Attributes, peer: &Peer) -> i64 {
        let lua = &self.lua;
        let p = lua.create_table_with_capacity(0, 3).unwrap();
        p.raw_set("network", prefix.to_string()).unwrap();
        p.raw_set("length", prefix.prefix_len()).unwrap();
        p.raw_set("family", 2).unwrap();
        let at = lua.create_table_with_capacity(0, 5).unwrap();
        at.raw_set("metric", a.metric).unwrap();
        at.raw_set("ifindex", a.ifindex).unwrap();
        at.raw_set("aspath", a.aspath.as_str()).unwrap();
        at.raw_set("localpref", a.localpref).unwrap();
        let com = lua
            .create_table_with_capacity(a.community.len(), 0)
            .unwrap();
        for (i, c) in a.community.iter().enumerate() {
            com.raw_set(i + 1, c.as_str()).unwrap();
        }
        at.raw_set("community", com).unwrap();
        let pe = lua.create_table_with_capacity(0, 4).unwrap();
        pe.raw_set("remote_as", peer.remote_as).unwrap();
        pe.raw_set("local_as", peer.local_as).unwrap();
        pe.raw_set("state", peer.state.as_str()).unwrap();
        let st = lua.create_table_with_capacity(0, 2).unwrap();
        st.raw_set("update_in", peer.stats.update_in).unwrap();
        st.raw_set("update_out", peer.stats.update_out).unwrap();
        pe.raw_set("stats", st).unwrap();
        let r: Table = self.f.call((p, at, pe, 0, 1, 2, 3)).unwrap();
        if let Value::Table(t) = r.raw_get::<Value>("attributes").unwrap() {
            a.metric = t.raw_get("metric").unwrap();
            a.localpref = t.raw_get("localpref").unwrap();
        }
        r.raw_get("action").unwrap()
    }
}

fn bench_memory_cap(c: &mut Criterion<ThreadCpu>) {
    let (prefix, attributes, peer) = route();
    let cap = Limits::default().memory_cap().unwrap();
    let mut g = group_config(c, "memory_cap");

    let h = ByHand::new();
    g.bench_function("mlua_no_cap", |b| {
        b.iter_batched_ref(
            || attributes.clone(),
            |a| black_box(h.call(black_box(&prefix), a, black_box(&peer))),
            BatchSize::SmallInput,
        )
    });

    // What frrhook does: the cap only while Lua code runs. By hand, that is around the
    // whole call (marshalling included), which costs more than frrhook's placement.
    let h = ByHand::new();
    g.bench_function("mlua_cap_around_call", |b| {
        b.iter_batched_ref(
            || attributes.clone(),
            |a| {
                h.lua.set_memory_limit(cap).unwrap();
                let r = h.call(black_box(&prefix), a, black_box(&peer));
                h.lua.set_memory_limit(0).unwrap();
                black_box(r)
            },
            BatchSize::SmallInput,
        )
    });

    let h = ByHand::new();
    h.lua.set_memory_limit(cap).unwrap();
    g.bench_function("mlua_cap_always_on", |b| {
        b.iter_batched_ref(
            || attributes.clone(),
            |a| black_box(h.call(black_box(&prefix), a, black_box(&peer))),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn thread_cpu() -> Criterion<ThreadCpu> {
    Criterion::default().with_measurement(ThreadCpu)
}

criterion_group! {
    name = benches;
    config = thread_cpu();
    targets = interleaved, bench_limits, bench_memory_cap
}
criterion_main!(benches);
