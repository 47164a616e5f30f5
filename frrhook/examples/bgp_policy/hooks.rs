//! The hook points this daemon offers its operators.
//!
//! Three shapes: a decision with write-back (`bgp.route_match`, FRR's route-map
//! `match script`), an observation (`zebra.on_rib_process_dplane_results`) and a scalar
//! adjusted in place (`vrrp.priority`).

use frrhook::{LuaCodec, hook_point};
use ipnet::IpNet;

use crate::route::{Attributes, DplaneResult, Peer, RouteMapAction};

/// Decide whether a route matches a route-map entry, and optionally change its
/// attributes: FRR's `match script` contract. The script receives the route, its
/// attributes and the peer it came from, then the codes `RM_FAILURE`, `RM_NOMATCH`,
/// `RM_MATCH` and `RM_MATCH_AND_CHANGE`, and returns `{action = RM_..., attributes = ...}`.
#[hook_point(
    name = "bgp.route_match",
    results(action: Option<RouteMapAction>),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3)
)]
pub fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);

/// Observe a data-plane result: a route was installed (or failed to be). Zebra's
/// `on_rib_process_dplane_results`. Read-only; the script returns `{}`.
#[hook_point(name = "zebra.on_rib_process_dplane_results")]
pub fn on_rib_process_dplane_results(ctx: &DplaneResult);

/// What a VRRP router tracks to decide its priority.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Tracking {
    /// The interface the virtual router runs on.
    pub interface: String,
    /// Whether that interface is up.
    pub interface_up: bool,
    /// BGP sessions up.
    pub peers_up: u32,
    /// Routes the route-map accepted.
    pub routes_accepted: u64,
    /// Routes the route-map denied.
    pub routes_denied: u64,
}

/// Adjust a VRRP router's priority (1..=254) from what it tracks; the script returns
/// `{priority = N, reason = "..."}` or `{}` to keep it.
#[hook_point(name = "vrrp.priority", results(reason: String = String::new()))]
pub fn vrrp_priority(vrid: u8, priority: &mut u8, tracking: &Tracking);
