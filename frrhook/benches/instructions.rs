//! A fixed number of calls of one benchmarked variant, for instruction counts: run it
//! under `valgrind --tool=callgrind` twice with different call counts and divide the
//! difference, which removes the setup (see `docs/PERFORMANCE.md`, *Where the time
//! goes*). Instruction counts do not depend on the machine's load; times do.
//!
//! ```sh
//! cargo bench -p frrhook --bench instructions --no-run     # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null <binary> route_match 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null <binary> route_match 9000
//! ```
//!
//! Variants (the ids of `benches/hooks.rs`, on the same route and script):
//! `route_match`, `route_match_limits`, `route_match_by_hand`, `scalar`, `scalar_keep`,
//! `scalar_by_hand`; and FRR's documented example (`fixture::frr_example_source`,
//! group `route_match_frr_example`): `frr_example`, `frr_example_by_hand`; and what
//! reading one field of the lazy `peer` costs (`benches/scripts/peer_field.lua`):
//! `peer_one_field`, `peer_untouched`, `peer_pairs`. Without a variant (as `cargo bench` runs it) it
//! prints this list and exits.

#![allow(dead_code)]

#[path = "../examples/bgp_policy/hooks.rs"]
mod hooks;
#[path = "../examples/bgp_policy/mrt.rs"]
mod mrt;
#[path = "../examples/bgp_policy/route.rs"]
mod route;

#[path = "demo/by_hand.rs"]
mod by_hand;
#[path = "demo/fixture.rs"]
mod fixture;

use std::hint::black_box;

use frrhook::mlua::{Function, Lua, Table};

use fixture::{
    BENCH_SCRIPT_DIR, SCALAR_SCRIPT, fixture, frr_example_route, frr_example_runtime,
    frr_example_source, runtime, scalar, scalar_keep, scalar_runtime, with_limits,
};

const VARIANTS: &[&str] = &[
    "route_match",
    "route_match_limits",
    "route_match_by_hand",
    "scalar",
    "scalar_keep",
    "scalar_by_hand",
    "frr_example",
    "frr_example_by_hand",
    "peer_one_field",
    "peer_untouched",
    "peer_pairs",
];

fn main() {
    // `cargo bench` passes `--bench`; only a variant name and a count mean a run.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(variant), Some(n)) = (
        args.first().filter(|v| VARIANTS.contains(&v.as_str())),
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        println!(
            "instructions: give a variant ({}) and a call count",
            VARIANTS.join(", ")
        );
        return;
    };
    let f = fixture();
    let r = &f.routes[f.route];
    let peer = &f.peers[r.peer as usize];
    match variant.as_str() {
        "route_match" | "route_match_limits" => {
            let rt = runtime(if variant == "route_match" {
                frrhook::Limits::none()
            } else {
                with_limits()
            });
            for _ in 0..n {
                let mut a = r.attributes.clone();
                black_box(hooks::route_match(&rt, &r.prefix, &mut a, peer).unwrap());
            }
        }
        "route_match_by_hand" => {
            let by_hand = by_hand::ByHand::new();
            for _ in 0..n {
                let mut a = r.attributes.clone();
                black_box(by_hand.call(&r.prefix, &mut a, peer).unwrap());
            }
        }
        "peer_one_field" | "peer_untouched" | "peer_pairs" => {
            let rt = frrhook::Runtime::builder()
                .script_dir(BENCH_SCRIPT_DIR)
                .limits(frrhook::Limits::none())
                .build();
            let function = match variant.as_str() {
                "peer_one_field" => "one_field",
                "peer_pairs" => "iterates",
                _ => "untouched",
            };
            rt.attach_hook(hooks::RouteMatchArgs::hook(), "peer_field", function)
                .unwrap();
            for _ in 0..n {
                let mut a = r.attributes.clone();
                black_box(hooks::route_match(&rt, &r.prefix, &mut a, peer).unwrap());
            }
        }
        "frr_example" | "frr_example_by_hand" => {
            let r = &f.routes[frr_example_route(f)];
            let peer = &f.peers[r.peer as usize];
            if variant == "frr_example" {
                let rt = frr_example_runtime();
                for _ in 0..n {
                    let mut a = r.attributes.clone();
                    black_box(hooks::route_match(&rt, &r.prefix, &mut a, peer).unwrap());
                }
            } else {
                let by_hand = by_hand::ByHand::with_source(&frr_example_source());
                for _ in 0..n {
                    let mut a = r.attributes.clone();
                    black_box(by_hand.call(&r.prefix, &mut a, peer).unwrap());
                }
            }
        }
        "scalar" | "scalar_keep" => {
            let rt = scalar_runtime();
            for i in 0..n as i64 {
                let r = if variant == "scalar" {
                    scalar(&rt, i, 2, 3).unwrap().r
                } else {
                    scalar_keep(&rt, i, 2, 3).unwrap().r
                };
                black_box(r);
            }
        }
        _ => {
            let lua = Lua::new();
            lua.load(SCALAR_SCRIPT).exec().unwrap();
            let add3: Function = lua.globals().get("add3").unwrap();
            for i in 0..n as i64 {
                let t: Table = add3.call((i, 2, 3)).unwrap();
                black_box(t.get::<i64>("r").unwrap());
            }
        }
    }
}
