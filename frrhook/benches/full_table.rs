//! Full-table throughput: every route of a full IPv4 table (RouteViews jinx,
//! 2014-05-30, 503,590 routes) through `bgp.route_match` with the demo's route-map, on
//! 1 and 2 threads. Parsing is done first and not timed; the figures are hook time only.
//!
//! `cargo bench -p frrhook --bench full_table`. The table is not shipped (GPL-3.0 repo,
//! 3.9 MB): it is read from `<workspace>/../shared/data/` and the bench says so and
//! exits when it is absent.

#![allow(dead_code)]

#[path = "demo/fixture.rs"]
mod fixture;
#[path = "../examples/bgp_policy/hooks.rs"]
mod hooks;
#[path = "../examples/bgp_policy/mrt.rs"]
mod mrt;
#[path = "../examples/bgp_policy/route.rs"]
mod route;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use frrhook::{Limits, Runtime};

use route::{Peer, Route};

const FILE: &str = "routeviews.route-views.jinx.ribs.1401487200.bz2";

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(FILE);
    if !path.exists() {
        println!("full_table: skipped: {} is absent", path.display());
        return;
    }
    let started = Instant::now();
    let rib = match mrt::read_rib(&path, &mut |_| {}) {
        Ok(rib) => rib,
        Err(e) => {
            println!("full_table: skipped: {e}");
            return;
        }
    };
    println!(
        "full_table: {} routes from {} peers parsed in {:.2} s (not counted below){}",
        rib.routes.len(),
        rib.peers.len(),
        started.elapsed().as_secs_f64(),
        if rib.truncated.is_some() {
            ", input truncated"
        } else {
            ""
        }
    );

    for (label, limits) in [
        ("Limits::none()", Limits::none()),
        ("Limits::default()", Limits::default()),
    ] {
        let rt = fixture::runtime(limits);
        let mut one = 0.0;
        for threads in [1usize, 2] {
            let (secs, cpu) = run(&rt, &rib.routes, &rib.peers, threads);
            if threads == 1 {
                one = secs;
            }
            let n = rib.routes.len() as f64;
            let cpu = cpu.map_or("?".to_string(), |c| format!("{:.2}", c * 1e6 / n));
            let speedup = if threads > 1 {
                format!(", speed-up {:.2}x", one / secs)
            } else {
                String::new()
            };
            println!(
                "full_table: {label:<18} {threads} thread{}: {secs:.3} s, {:>9.0} routes/s, \
                 {:.2} us/route wall, {cpu} us/route on CPU{speedup}",
                if threads == 1 { " " } else { "s" },
                n / secs,
                secs * 1e6 / n,
            );
        }
    }
}

/// Routes a thread takes from the shared cursor at a time.
const CHUNK: usize = 256;

/// Seconds this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`).
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Wall-clock seconds to run every route through the hook on `threads` threads, and the
/// CPU seconds the threads used: on a machine busy with other work, where two threads
/// cannot get two cores, the CPU time still shows whether the hook itself scales (the
/// same CPU time per route on 1 and 2 threads: nothing serializes them). Each thread's
/// Lua state is built by a first call before the clock starts.
///
/// The threads take the table in chunks of [`CHUNK`] routes from a shared cursor: the
/// dump is sorted by prefix (IPv4, then IPv6), so two contiguous halves cost differently
/// and one thread would wait for the other.
fn run(rt: &Runtime, routes: &[Route], peers: &[Peer], threads: usize) -> (f64, Option<f64>) {
    let barrier = std::sync::Barrier::new(threads + 1);
    let cursor = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (barrier, cursor) = (&barrier, &cursor);
                s.spawn(move || {
                    if let Some(warm) = routes.first() {
                        let mut a = warm.attributes.clone();
                        let peer = &peers[warm.peer as usize];
                        let _ = hooks::route_match(rt, &warm.prefix, &mut a, peer);
                    }
                    barrier.wait();
                    let cpu_start = thread_cpu();
                    let mut errors = 0u64;
                    loop {
                        let from = cursor.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                        let Some(chunk) = routes.get(from..(from + CHUNK).min(routes.len())) else {
                            break;
                        };
                        for r in chunk {
                            let mut a = r.attributes.clone();
                            let peer = &peers[r.peer as usize];
                            match hooks::route_match(rt, &r.prefix, &mut a, peer) {
                                Ok(res) => {
                                    black_box((res.action, a));
                                }
                                Err(_) => errors += 1,
                            }
                        }
                    }
                    let cpu = cpu_start.zip(thread_cpu()).map(|(a, b)| b - a);
                    assert_eq!(errors, 0);
                    barrier.wait();
                    cpu
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        barrier.wait();
        let wall = t.elapsed().as_secs_f64();
        let cpu: Option<f64> = workers.into_iter().map(|w| w.join().unwrap()).sum();
        (wall, cpu)
    })
}
