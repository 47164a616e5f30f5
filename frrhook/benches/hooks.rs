//! frrhook against its baselines, each group measured in one run:
//!
//! | group | ids | what |
//! |---|---|---|
//! | `disabled` | `native`, `frrhook` | the native route-map alone, and behind a hook point with nothing attached |
//! | `scalar` | `mlua_by_hand`, `frrhook`, `frrhook_keep` | three integers in, one out (`{r = a + b + c}`); `frrhook_keep` keeps the returned table (`results(.., ..)`) |
//! | `route_match` | `native`, `mlua_by_hand`, `frrhook`, `frrhook_limits` | the demo's route-map on a real route |
//! | `route_match_frr_example` | `mlua_by_hand`, `frrhook` | FRR's documented `route_match` example (`fixture::frr_example_source`), which reads `peer` too, on a real route it changes |
//! | `threads` | `1`, `2` | a batch of real routes through `bgp.route_match` on 1 and 2 threads |
//! | `context` | `mlua_bare_return`, `empty_call` | plain mlua calls, for scale only |
//!
//! Run: `cargo bench -p frrhook --bench hooks`. Results: `target/criterion/<group>/<id>/`.
//! See `docs/PERFORMANCE.md`.
//!
//! The one-thread groups are timed with the benchmarking thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`), not the wall clock: on a shared 2-core machine the wall
//! clock also counts the time other processes hold the core, which made the same
//! measurement vary by ±25 % from one run to the next. Nothing on the call path runs on
//! another thread, so the CPU time of the calling thread is the cost of the call.
//! `threads/*` is about wall-clock speed-up and uses the wall clock.

#![allow(dead_code)]

#[path = "../examples/bgp_policy/hooks.rs"]
mod hooks;
#[path = "../examples/bgp_policy/mrt.rs"]
mod mrt;
#[path = "../examples/bgp_policy/native.rs"]
mod native;
#[path = "../examples/bgp_policy/route.rs"]
mod route;

#[path = "demo/by_hand.rs"]
mod by_hand;
mod common;
#[path = "demo/fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Instant;

use common::{ThreadCpu, group_config, thread_cpu_ns};
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main,
};
use frrhook::mlua::{self, Function, Lua, Table};
use frrhook::{Limits, Runtime, hook_point};
use ipnet::IpNet;

use by_hand::ByHand;
use fixture::{
    SCALAR_SCRIPT, fixture, frr_example_route, frr_example_runtime, frr_example_source, runtime,
    scalar, scalar_keep, scalar_runtime, with_limits,
};
use route::{Attributes, Peer, Route, RouteMapAction};

/// Routes per `threads/*` iteration.
const BATCH: usize = 2_000;
/// Routes per `disabled/*` iteration.
const DISABLED_BATCH: usize = 256;

/// `bgp.route_match`'s twin, never attached: the disabled path.
#[hook_point(
    name = "bench.disabled_route_match",
    results(action: Option<RouteMapAction>),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3)
)]
fn disabled_route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);

// ---------------------------------------------------------------------------------------
// Benchmarks.
// ---------------------------------------------------------------------------------------

/// Routes the route-map accepts unchanged (`RM_MATCH`), evenly spread over the sample:
/// the disabled-path batch, which can run again and again without a fresh copy.
fn unchanged_routes(n: usize) -> Vec<Route> {
    let f = fixture();
    let step = f.routes.len() / (n * 2);
    f.routes
        .iter()
        .step_by(step)
        .filter(|r| {
            native::route_match(&r.prefix, &mut r.attributes.clone()) == RouteMapAction::Match
        })
        .take(n)
        .cloned()
        .collect()
}

/// CPU nanoseconds of `f`, divided by `per` (the calls it makes).
fn cpu_ns(per: usize, f: impl FnOnce()) -> f64 {
    let t = thread_cpu_ns();
    f();
    (thread_cpu_ns() - t) as f64 / per as f64
}

/// Runs `a` and `b` in alternation (`rounds` rounds, the order swapped every round);
/// each returns the time of one call it measured with [`cpu_ns`]. Prints the medians
/// and their ratio: a cross-check of a criterion group that does not depend on how busy
/// the machine was while each id was measured.
fn interleaved(label: &str, rounds: usize, mut a: impl FnMut() -> f64, mut b: impl FnMut() -> f64) {
    let (mut ta, mut tb) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for i in 0..rounds {
        if i % 2 == 0 {
            ta.push(a());
            tb.push(b());
        } else {
            tb.push(b());
            ta.push(a());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb) = (median(&mut ta), median(&mut tb));
    eprintln!(
        "interleaved {label}: {ma:.1} vs {mb:.1} ns per call (CPU time, median of {rounds} rounds), ratio {:.3}",
        mb / ma
    );
}

/// The disabled path: the native route-map on a batch of real routes, alone and behind a
/// hook point with nothing attached (the gate, then the native code since no script
/// answered). One iteration is the whole batch.
fn bench_disabled(c: &mut Criterion<ThreadCpu>) {
    let f = fixture();
    let peer = &f.peers[0];
    let rt = Runtime::builder().limits(Limits::none()).build();
    assert!(!DisabledRouteMatchArgs::hook().is_attached());
    let mut batch = unchanged_routes(DISABLED_BATCH);
    assert_eq!(batch.len(), DISABLED_BATCH);

    fn native_pass(batch: &mut [Route]) {
        for r in batch {
            black_box(native::route_match(black_box(&r.prefix), &mut r.attributes));
        }
    }
    fn hooked_pass(rt: &Runtime, peer: &Peer, batch: &mut [Route]) {
        for r in batch {
            let prefix = black_box(&r.prefix);
            let answered = disabled_route_match(rt, prefix, &mut r.attributes, peer)
                .unwrap()
                .action;
            black_box(answered.unwrap_or_else(|| native::route_match(prefix, &mut r.attributes)));
        }
    }

    let mut other = batch.clone();
    interleaved(
        "disabled native vs frrhook",
        4000,
        || cpu_ns(DISABLED_BATCH, || native_pass(&mut batch)),
        || cpu_ns(DISABLED_BATCH, || hooked_pass(&rt, peer, &mut other)),
    );

    let mut g = group_config(c, "disabled");
    g.bench_function("native", |b| b.iter(|| native_pass(&mut batch)));
    g.bench_function("frrhook", |b| b.iter(|| hooked_pass(&rt, peer, &mut batch)));
    g.finish();
}

fn bench_scalar(c: &mut Criterion<ThreadCpu>) {
    let rt = scalar_runtime();

    let lua = Lua::new();
    lua.load(SCALAR_SCRIPT).exec().unwrap();
    let add3: Function = lua.globals().get("add3").unwrap();
    let by_hand = |a: i64, b: i64, c: i64| -> mlua::Result<i64> {
        let t: Table = add3.call((a, b, c))?;
        t.get("r")
    };
    assert_eq!(by_hand(1, 2, 3).unwrap(), 6);

    interleaved(
        "scalar mlua_by_hand vs frrhook",
        2000,
        || {
            cpu_ns(100, || {
                for i in 0..100 {
                    black_box(by_hand(black_box(i), 2, 3).unwrap());
                }
            })
        },
        || {
            cpu_ns(100, || {
                for i in 0..100 {
                    black_box(scalar(&rt, black_box(i), 2, 3).unwrap().r);
                }
            })
        },
    );

    let mut g = group_config(c, "scalar");
    g.bench_function("mlua_by_hand", |b| {
        b.iter(|| black_box(by_hand(black_box(1), black_box(2), black_box(3)).unwrap()))
    });
    g.bench_function("frrhook", |b| {
        b.iter(|| {
            black_box(
                scalar(&rt, black_box(1), black_box(2), black_box(3))
                    .unwrap()
                    .r,
            )
        })
    });
    // The same hook keeping its returned table for undeclared keys (`results(.., ..)`):
    // what `..` costs.
    g.bench_function("frrhook_keep", |b| {
        b.iter(|| {
            black_box(
                scalar_keep(&rt, black_box(1), black_box(2), black_box(3))
                    .unwrap()
                    .r,
            )
        })
    });
    g.finish();
}

fn bench_route_match(c: &mut Criterion<ThreadCpu>) {
    let f = fixture();
    let r = &f.routes[f.route];
    let peer = &f.peers[r.peer as usize];
    let by_hand = ByHand::new();
    let rt = runtime(Limits::none());
    let rt_limits = runtime(with_limits());

    // The four variants agree on this route before they are timed.
    let mut expected = r.attributes.clone();
    let native_action = native::route_match(&r.prefix, &mut expected);
    assert_eq!(native_action, RouteMapAction::MatchAndChange);
    let mut a = r.attributes.clone();
    assert_eq!(by_hand.call(&r.prefix, &mut a, peer).unwrap(), Some(3));
    assert_eq!(a, expected);
    for rt in [&rt, &rt_limits] {
        let mut a = r.attributes.clone();
        let action = hooks::route_match(rt, &r.prefix, &mut a, peer)
            .unwrap()
            .action;
        assert_eq!(action, Some(native_action));
        assert_eq!(a, expected);
    }

    // Cross-checks: each round makes 10 calls, on copies made before its clock starts.
    let hooked = |rt: &Runtime| {
        let mut attrs = vec![r.attributes.clone(); 10];
        cpu_ns(10, || {
            for a in &mut attrs {
                black_box(hooks::route_match(rt, &r.prefix, a, peer).unwrap().action);
            }
        })
    };
    let by_hand_calls = || {
        let mut attrs = vec![r.attributes.clone(); 10];
        cpu_ns(10, || {
            for a in &mut attrs {
                black_box(by_hand.call(&r.prefix, a, peer).unwrap());
            }
        })
    };
    interleaved(
        "route_match mlua_by_hand vs frrhook",
        600,
        by_hand_calls,
        || hooked(&rt),
    );
    interleaved(
        "route_match frrhook vs frrhook_limits",
        600,
        || hooked(&rt),
        || hooked(&rt_limits),
    );

    let mut g = group_config(c, "route_match");
    g.bench_function("native", |b| {
        b.iter_batched_ref(
            || r.attributes.clone(),
            |a| black_box(native::route_match(black_box(&r.prefix), a)),
            BatchSize::SmallInput,
        )
    });
    bench_by_hand(&mut g, &by_hand, r, peer);
    bench_hook(&mut g, "frrhook", &rt, r, peer);
    bench_hook(&mut g, "frrhook_limits", &rt_limits, r, peer);
    g.finish();
}

/// `mlua_by_hand`: `route_match` called by hand on a fresh copy of `r`'s attributes.
fn bench_by_hand(g: &mut BenchmarkGroup<'_, ThreadCpu>, by_hand: &ByHand, r: &Route, peer: &Peer) {
    g.bench_function("mlua_by_hand", |b| {
        b.iter_batched_ref(
            || r.attributes.clone(),
            |a| black_box(by_hand.call(black_box(&r.prefix), a, peer).unwrap()),
            BatchSize::SmallInput,
        )
    });
}

/// `id`: `bgp.route_match` through `rt` on a fresh copy of `r`'s attributes.
fn bench_hook(
    g: &mut BenchmarkGroup<'_, ThreadCpu>,
    id: &str,
    rt: &Runtime,
    r: &Route,
    peer: &Peer,
) {
    g.bench_function(id, |b| {
        b.iter_batched_ref(
            || r.attributes.clone(),
            |a| {
                black_box(
                    hooks::route_match(rt, black_box(&r.prefix), a, peer)
                        .unwrap()
                        .action,
                )
            },
            BatchSize::SmallInput,
        )
    });
}

/// FRR's documented example (it reads `prefix`, `attributes` and `peer`, so the lazy
/// `peer` table is filled in full) by hand and through the hook, on a route it answers
/// with `RM_MATCH_AND_CHANGE`.
fn bench_frr_example(c: &mut Criterion<ThreadCpu>) {
    let f = fixture();
    let r = &f.routes[frr_example_route(f)];
    let peer = &f.peers[r.peer as usize];
    let by_hand = ByHand::with_source(&frr_example_source());
    let rt = frr_example_runtime();

    // Both variants agree on this route before they are timed: MED + 7, written back.
    let mut expected = r.attributes.clone();
    expected.metric += 7;
    let mut a = r.attributes.clone();
    assert_eq!(by_hand.call(&r.prefix, &mut a, peer).unwrap(), Some(3));
    assert_eq!(a, expected);
    let mut a = r.attributes.clone();
    let action = hooks::route_match(&rt, &r.prefix, &mut a, peer)
        .unwrap()
        .action;
    assert_eq!(action, Some(RouteMapAction::MatchAndChange));
    assert_eq!(a, expected);

    let mut g = group_config(c, "route_match_frr_example");
    bench_by_hand(&mut g, &by_hand, r, peer);
    bench_hook(&mut g, "frrhook", &rt, r, peer);
    g.finish();
}

/// Worker threads that each keep their Lua state between batches. The workers take the
/// batch in chunks of [`CHUNK`] routes from a shared cursor, so a worker that the
/// machine slows down (another process, an interrupt) takes fewer chunks instead of
/// holding up the batch (a fixed split, even an interleaved one, waited for the slower
/// worker: the 2-thread time varied from 0.53 to 0.75 of the 1-thread time between
/// runs). `run` returns when all are done.
struct Pool {
    start: Arc<Barrier>,
    done: Arc<Barrier>,
    stop: Arc<AtomicBool>,
    cursor: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<()>>,
}

/// Routes a worker takes from the cursor at a time: about 0.5 ms of work, so the one
/// shared counter is touched a few thousand times a second.
const CHUNK: usize = 32;

impl Pool {
    fn new(threads: usize, rt: &Runtime, batch: Arc<Vec<Route>>, peers: Arc<Vec<Peer>>) -> Pool {
        let start = Arc::new(Barrier::new(threads + 1));
        let done = Arc::new(Barrier::new(threads + 1));
        let stop = Arc::new(AtomicBool::new(false));
        let cursor = Arc::new(AtomicUsize::new(0));
        let workers = (0..threads)
            .map(|_| {
                let (rt, batch, peers) = (rt.clone(), batch.clone(), peers.clone());
                let (start, done, stop) = (start.clone(), done.clone(), stop.clone());
                let cursor = cursor.clone();
                std::thread::spawn(move || {
                    loop {
                        start.wait();
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        loop {
                            let from = cursor.fetch_add(CHUNK, Ordering::Relaxed);
                            let Some(chunk) = batch.get(from..(from + CHUNK).min(batch.len()))
                            else {
                                break;
                            };
                            for r in chunk {
                                let mut a = r.attributes.clone();
                                let peer = &peers[r.peer as usize];
                                let res = hooks::route_match(&rt, &r.prefix, &mut a, peer).unwrap();
                                black_box((res.action, a));
                            }
                        }
                        done.wait();
                    }
                })
            })
            .collect();
        let pool = Pool {
            start,
            done,
            stop,
            cursor,
            workers,
        };
        pool.run(); // every worker builds its Lua state before timing starts
        pool
    }

    fn run(&self) {
        // The workers are all waiting at `start`: none reads the cursor meanwhile.
        self.cursor.store(0, Ordering::Relaxed);
        self.start.wait();
        self.done.wait();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.start.wait();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn bench_threads(c: &mut Criterion) {
    let f = fixture();
    // An even sample of the table, so both halves of the batch cost the same.
    let step = f.routes.len() / BATCH;
    let batch: Arc<Vec<Route>> =
        Arc::new(f.routes.iter().step_by(step).take(BATCH).cloned().collect());
    let peers = Arc::new(f.peers.clone());
    let rt = runtime(Limits::none());
    let mut g = group_config(c, "threads");
    g.sampling_mode(SamplingMode::Flat);
    for threads in [1usize, 2] {
        let pool = Pool::new(threads, &rt, batch.clone(), peers.clone());
        g.bench_function(threads.to_string(), |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    pool.run();
                }
                t.elapsed()
            })
        });
    }
    g.finish();
}

fn bench_context(c: &mut Criterion<ThreadCpu>) {
    let lua = Lua::new();
    lua.load("function add3(a, b, c) return a + b + c end function empty() end")
        .exec()
        .unwrap();
    let add3: Function = lua.globals().get("add3").unwrap();
    let empty: Function = lua.globals().get("empty").unwrap();
    let mut g = group_config(c, "context");
    g.bench_function("mlua_bare_return", |b| {
        b.iter(|| {
            black_box(
                add3.call::<i64>((black_box(1), black_box(2), black_box(3)))
                    .unwrap(),
            )
        })
    });
    g.bench_function("empty_call", |b| b.iter(|| empty.call::<()>(()).unwrap()));
    g.finish();
}

criterion_group! {
    name = one_thread;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_disabled, bench_scalar, bench_route_match, bench_frr_example, bench_context
}
criterion_group!(threads, bench_threads);
criterion_main!(one_thread, threads);
