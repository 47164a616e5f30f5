//! Running the RIB through the route-map, the way bgpd applies an inbound route-map:
//! each route's attributes are copied, the copy goes through `bgp.route_match`, and the
//! verdict decides whether the route is accepted (and installed, which zebra reports
//! through `zebra.on_rib_process_dplane_results`) and with which attributes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use frrhook::Runtime;

use crate::hooks::{on_rib_process_dplane_results, route_match};
use crate::route::{DplaneResult, Peer, Route, RouteMapAction};

/// The main routing table's id on Linux.
pub const TABLE_MAIN: u32 = 254;
/// eBGP's administrative distance.
pub const DISTANCE_EBGP: u8 = 20;
/// Error messages kept for the report (the stats count them all).
const KEEP_ERRORS: usize = 5;
/// Routes between two progress reports of one thread.
const PROGRESS_EVERY: usize = 4096;

/// What happened to the routes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Routes run through the route-map.
    pub routes: u64,
    /// Routes per returned action.
    pub actions: BTreeMap<RouteMapAction, u64>,
    /// Routes whose script returned no `action`.
    pub no_action: u64,
    /// Accepted routes whose attributes the script changed (`RM_MATCH_AND_CHANGE` with
    /// different attributes).
    pub changed: u64,
    /// Routes accepted (`RM_MATCH`, `RM_MATCH_AND_CHANGE`) and installed.
    pub accepted: u64,
    /// Routes denied (`RM_NOMATCH`, `RM_FAILURE`, no action, or a failed call).
    pub denied: u64,
    /// Failed `bgp.route_match` calls (the route is denied, as bgpd does).
    pub route_match_errors: u64,
    /// Failed `zebra.on_rib_process_dplane_results` calls.
    pub observe_errors: u64,
    /// The first few error messages.
    pub first_errors: Vec<String>,
    /// Wall-clock time of the whole hook phase.
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.routes += other.routes;
        for (a, n) in other.actions {
            *self.actions.entry(a).or_default() += n;
        }
        self.no_action += other.no_action;
        self.changed += other.changed;
        self.accepted += other.accepted;
        self.denied += other.denied;
        self.route_match_errors += other.route_match_errors;
        self.observe_errors += other.observe_errors;
        for e in other.first_errors {
            if self.first_errors.len() < KEEP_ERRORS {
                self.first_errors.push(e);
            }
        }
    }

    /// Routes per second of the hook phase.
    pub fn routes_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.routes as f64 / s } else { 0.0 }
    }
}

/// Runs every route through the route-map on `threads` threads (each with its own Lua
/// state, all calling the same `Runtime`), applies the verdicts in place (changed
/// attributes are stored into the route) and installs the accepted routes.
/// `progress` is called with the number of routes done since its last call.
pub fn apply(
    rt: &Runtime,
    routes: &mut [Route],
    peers: &[Peer],
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Outcome {
    let threads = threads.clamp(1, routes.len().max(1));
    let chunk = routes.len().div_ceil(threads).max(1);
    let start = Instant::now();
    let mut total = Outcome::default();
    std::thread::scope(|s| {
        let workers: Vec<_> = routes
            .chunks_mut(chunk)
            .map(|part| s.spawn(move || apply_chunk(rt, part, peers, progress)))
            .collect();
        for w in workers {
            total.merge(w.join().expect("a policy thread panicked"));
        }
    });
    total.elapsed = start.elapsed();
    total.threads = threads;
    total
}

fn apply_chunk(
    rt: &Runtime,
    routes: &mut [Route],
    peers: &[Peer],
    progress: &(dyn Fn(u64) + Sync),
) -> Outcome {
    let mut out = Outcome::default();
    for (i, route) in routes.iter_mut().enumerate() {
        if i % PROGRESS_EVERY == PROGRESS_EVERY - 1 {
            progress(PROGRESS_EVERY as u64);
        }
        out.routes += 1;
        let peer = &peers[route.peer as usize];
        // bgpd runs the route-map on a copy of the attributes (bgp_attr_dup).
        let mut attributes = route.attributes.clone();
        let action = match route_match(rt, &route.prefix, &mut attributes, peer) {
            Ok(r) => r.action,
            Err(e) => {
                out.route_match_errors += 1;
                out.denied += 1;
                if out.first_errors.len() < KEEP_ERRORS {
                    out.first_errors.push(e.to_string());
                }
                continue;
            }
        };
        match action {
            Some(a) => *out.actions.entry(a).or_default() += 1,
            None => out.no_action += 1,
        }
        match action {
            Some(a @ (RouteMapAction::Match | RouteMapAction::MatchAndChange)) => {
                out.accepted += 1;
                // As bgpd: only RM_MATCH_AND_CHANGE applies the returned attributes.
                if a == RouteMapAction::MatchAndChange && attributes != route.attributes {
                    out.changed += 1;
                    route.attributes = attributes;
                }
                let ctx = DplaneResult {
                    op: "ROUTE_INSTALL".into(),
                    status: "SUCCESS".into(),
                    prefix: route.prefix,
                    nexthop: route.attributes.nexthop,
                    table_id: TABLE_MAIN,
                    vrf_id: 0,
                    distance: DISTANCE_EBGP,
                    metric: route.attributes.metric,
                };
                if let Err(e) = on_rib_process_dplane_results(rt, &ctx) {
                    out.observe_errors += 1;
                    if out.first_errors.len() < KEEP_ERRORS {
                        out.first_errors.push(e.to_string());
                    }
                }
            }
            _ => out.denied += 1,
        }
    }
    progress((routes.len() % PROGRESS_EVERY) as u64);
    out
}
