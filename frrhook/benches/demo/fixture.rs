//! What the benches share: the shipped sample and its benchmarked route, the runtime
//! with the demo's route-map attached, and the `scalar` hooks.

use std::path::Path;

use frrhook::{Limits, Runtime, hook_point};

use crate::route::{Peer, Route};
use crate::{hooks, mrt};

pub const SCRIPT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scripts");
pub const SAMPLE_RIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/rib.20140523.0600_firstMB.bz2"
);

/// Three integers in, one out.
#[hook_point(name = "bench.scalar", results(r: i64 = 0))]
pub fn scalar(a: i64, b: i64, c: i64);

/// [`scalar`], keeping the returned table for undeclared keys (`..`).
#[hook_point(name = "bench.scalar_keep", results(r: i64 = 0, ..))]
pub fn scalar_keep(a: i64, b: i64, c: i64);

pub const SCALAR_SCRIPT: &str = "function add3(a, b, c) return { r = a + b + c } end";

/// A runtime with `add3` attached to both scalar hooks.
pub fn scalar_runtime() -> Runtime {
    let rt = Runtime::builder().limits(Limits::none()).build();
    rt.add_script("scalar", SCALAR_SCRIPT).unwrap();
    rt.attach_hook(ScalarArgs::hook(), "scalar", "add3")
        .unwrap();
    rt.attach_hook(ScalarKeepArgs::hook(), "scalar", "add3")
        .unwrap();
    assert_eq!(scalar(&rt, 1, 2, 3).unwrap().r, 6);
    assert_eq!(
        scalar_keep(&rt, 1, 2, 3).unwrap().get::<i64>("r").unwrap(),
        Some(6)
    );
    rt
}

pub struct Fixture {
    pub routes: Vec<Route>,
    pub peers: Vec<Peer>,
    /// The benchmarked route: a real one with communities, which the route-map changes.
    pub route: usize,
}

pub fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let rib = mrt::read_rib(Path::new(SAMPLE_RIB), &mut |_| {}).expect("the sample reads");
        // The first route that carries several communities, one of them preferred, and
        // a MED: the route-map raises its local preference (MATCH_AND_CHANGE, write-back).
        let route = rib
            .routes
            .iter()
            .position(|r| {
                r.attributes.community.len() >= 3
                    && r.attributes.metric != 0
                    && r.attributes.community.iter().any(|c| c == "3356:123")
            })
            .expect("a route with communities");
        let r = &rib.routes[route];
        eprintln!(
            "route_match route: #{route} {} aspath \"{}\" med {} communities {:?} from AS{}",
            r.prefix,
            r.attributes.aspath,
            r.attributes.metric,
            r.attributes.community,
            rib.peers[r.peer as usize].remote_as
        );
        Fixture {
            routes: rib.routes,
            peers: rib.peers,
            route,
        }
    })
}

pub fn runtime(limits: Limits) -> Runtime {
    let rt = Runtime::builder()
        .script_dir(SCRIPT_DIR)
        .limits(limits)
        .build();
    rt.attach_hook(hooks::RouteMatchArgs::hook(), "route_map", "route_match")
        .expect("route_map.lua attaches");
    rt
}

/// The benches' own scripts (`peer_field.lua`).
pub const BENCH_SCRIPT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scripts");

/// FRR's documented `route_match` example, as the tests have it
/// (`tests/scripts/frr_route_match.lua`), with each `log.info(x)` turned into
/// `local _ = (x)`: the strings are still built from `prefix.network` and
/// `peer.remote_id.string`, so the script reads what FRR's does, but nothing is logged
/// (the hand-written variant has no `log`).
pub fn frr_example_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/scripts/frr_route_match.lua"
    );
    std::fs::read_to_string(path)
        .expect("tests/scripts/frr_route_match.lua reads")
        .replace("log.info(", "local _ = (")
}

/// A runtime with FRR's documented example attached to `bgp.route_match`.
pub fn frr_example_runtime() -> Runtime {
    let rt = Runtime::builder().limits(Limits::none()).build();
    rt.add_script("frr_example", frr_example_source())
        .expect("the example compiles");
    rt.attach_hook(hooks::RouteMatchArgs::hook(), "frr_example", "route_match")
        .expect("the example attaches");
    rt
}

/// The route FRR's example is benchmarked on: the first of the sample whose peer has a
/// received-update count that is odd and not a multiple of 3, which the example answers
/// with `RM_MATCH_AND_CHANGE` (MED + 7, written back).
pub fn frr_example_route(f: &Fixture) -> usize {
    f.routes
        .iter()
        .position(|r| {
            let n = f.peers[r.peer as usize].stats.update_in;
            !n.is_multiple_of(3) && !n.is_multiple_of(2)
        })
        .expect("a peer with such a count")
}

pub fn with_limits() -> Limits {
    Limits::none().instructions(1_000_000).memory(64 << 20)
}
