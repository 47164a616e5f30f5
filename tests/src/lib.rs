//! Shared fixtures for frrhook's integration tests: route types in FRR's Lua shapes
//! (`lua_pushattr`, `lua_pushpeer`) and hooks of several shapes.

use frrhook::codec::frr::InAddr;
use frrhook::{LuaCodec, hook_point};
use ipnet::IpNet;

/// FRR's route-map result codes (`RM_*` in bgp_routemap.c's script glue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, LuaCodec)]
#[lua(repr = "integer")]
pub enum RouteMapAction {
    /// RM_FAILURE
    Failure = 0,
    /// RM_NOMATCH
    NoMatch = 1,
    /// RM_MATCH
    Match = 2,
    /// RM_MATCH_AND_CHANGE
    MatchAndChange = 3,
}

/// A route's attributes in FRR's `lua_pushattr` shape.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Attributes {
    /// MED.
    pub metric: u32,
    /// Next-hop interface index.
    pub ifindex: u32,
    /// AS path as text.
    pub aspath: String,
    /// Local preference.
    pub localpref: u32,
    /// Communities as text (`65000:1`).
    #[lua(default)]
    pub community: Vec<String>,
}

/// Per-peer message counters, FRR's `peer.stats`.
#[derive(Debug, Clone, Default, PartialEq, LuaCodec)]
pub struct PeerStats {
    /// UPDATE messages received.
    pub update_in: u64,
    /// UPDATE messages sent.
    pub update_out: u64,
}

/// A BGP peer in FRR's `lua_pushpeer` shape (the fields a policy reads).
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Peer {
    /// Remote AS.
    pub remote_as: u32,
    /// Local AS.
    pub local_as: u32,
    /// Remote router id, `{string = "...", value = N}`.
    pub remote_id: InAddr,
    /// Session state.
    pub state: String,
    /// Counters.
    pub stats: PeerStats,
}

/// Decide whether a route matches a route-map entry (FRR's contract: codes as trailing
/// arguments, `{action = ..., attributes = ...}` returned).
#[hook_point(
    name = "test.route_match",
    results(action: Option<RouteMapAction>, ..),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3)
)]
pub fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);

/// The same contract, failing open: on a script error the caller gets no action and
/// unchanged attributes, as FRR's bgpd defaults to "no match".
#[hook_point(
    name = "test.route_match_open",
    results(action: Option<RouteMapAction>),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3),
    on_error = defaults
)]
pub fn route_match_open(prefix: &IpNet, attributes: &mut Attributes, peer: &Peer);

/// Observe-only: a route was installed (like zebra's on_rib_process_dplane_results).
#[hook_point(name = "test.observe")]
pub fn observe(prefix: &IpNet, table_id: u32, status: &str);

/// In/out scalar: adjust a VRRP priority.
#[hook_point(name = "test.priority", results(reason: String = String::new()))]
pub fn priority(vrid: u8, priority: &mut u8, interface_up: bool);

/// A generic counter hook for chain, stats and reload tests.
#[hook_point(name = "test.counter", results(v: Option<i64>, w: Option<i64>, tag: Option<String>, ..))]
pub fn counter(n: &mut i64);

/// A sample route for tests.
pub fn sample_route() -> (IpNet, Attributes, Peer) {
    (
        "10.0.0.0/24".parse().unwrap(),
        Attributes {
            metric: 10,
            ifindex: 2,
            aspath: "65001 65002".into(),
            localpref: 100,
            community: vec!["65001:100".into()],
        },
        Peer {
            remote_as: 65001,
            local_as: 65000,
            remote_id: InAddr("192.0.2.1".parse().unwrap()),
            state: "Established".into(),
            stats: PeerStats {
                update_in: 7,
                update_out: 3,
            },
        },
    )
}

/// Writes `files` (name, source) into a fresh temporary script directory.
pub fn script_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, src) in files {
        std::fs::write(dir.path().join(format!("{name}.lua")), src).expect("write script");
    }
    dir
}
