//! The daemon's route types, in the Lua shapes FRR's bgpd gives its scripts
//! (`lua_pushattr`, `lua_pushpeer` in `bgpd/bgp_script.c`), with FRR's field names so
//! FRR's documented route-map scripts run unchanged.

use std::net::IpAddr;

use frrhook::LuaCodec;
use frrhook::codec::frr::InAddr;
use ipnet::IpNet;

/// FRR's route-map script result codes (`LUA_RM_*` in `bgpd/bgp_routemap.c`), passed to
/// `route_match` as the trailing `RM_*` arguments and returned as `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, LuaCodec)]
#[lua(repr = "integer")]
pub enum RouteMapAction {
    /// `RM_FAILURE`: the script could not decide.
    Failure = 0,
    /// `RM_NOMATCH`: the entry does not match (in a permit route-map: the route is denied).
    NoMatch = 1,
    /// `RM_MATCH`: the entry matches; attributes unchanged.
    Match = 2,
    /// `RM_MATCH_AND_CHANGE`: the entry matches and the returned attributes apply.
    MatchAndChange = 3,
}

impl RouteMapAction {
    /// Every action, in code order.
    pub const ALL: [RouteMapAction; 4] = [
        RouteMapAction::Failure,
        RouteMapAction::NoMatch,
        RouteMapAction::Match,
        RouteMapAction::MatchAndChange,
    ];

    /// The name used in the summary (`match_and_change`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RouteMapAction::Failure => "failure",
            RouteMapAction::NoMatch => "nomatch",
            RouteMapAction::Match => "match",
            RouteMapAction::MatchAndChange => "match_and_change",
        }
    }
}

/// The BGP ORIGIN attribute, as FRR's `lua_pushattr` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, LuaCodec)]
#[lua(rename_all = "lowercase")]
pub enum Origin {
    /// Learned from an IGP.
    #[default]
    Igp,
    /// Learned from EGP.
    Egp,
    /// Learned some other way.
    Incomplete,
}

/// A route's path attributes (FRR's `struct attr` as `lua_pushattr` shows it).
#[derive(Debug, Clone, PartialEq, Default, LuaCodec)]
pub struct Attributes {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH as text, as FRR prints it: `"3356 1299 {64512,64513}"`.
    pub aspath: String,
    /// NEXT_HOP (or the MP_REACH next hop), a bare address string; `nil` when absent.
    pub nexthop: Option<IpAddr>,
    /// MULTI_EXIT_DISC (MED); 0 when the route carries none, as in FRR.
    pub metric: u32,
    /// LOCAL_PREF; 0 when the route carries none, as in FRR.
    pub localpref: u32,
    /// Next-hop interface index (0: not resolved; kept for FRR scripts that read it).
    pub ifindex: u32,
    /// Cisco-style weight, local to this router.
    pub weight: u32,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// COMMUNITY values as text: `"65000:1"`, `"no-export"`.
    #[lua(default)]
    pub community: Vec<String>,
    /// LARGE_COMMUNITY values as text: `"65000:1:2"`.
    #[lua(default)]
    pub large_community: Vec<String>,
    /// EXTENDED COMMUNITIES as text (bgpkit's `type:subtype:global:local` form).
    #[lua(default)]
    pub extcommunity: Vec<String>,
}

/// A peer's message counters (`peer.stats` of FRR's `lua_pushpeer`).
#[derive(Debug, Clone, Default, PartialEq, LuaCodec)]
pub struct PeerStats {
    /// OPEN messages received.
    pub open_in: u64,
    /// OPEN messages sent.
    pub open_out: u64,
    /// UPDATE messages received (here: routes from this peer in the RIB).
    pub update_in: u64,
    /// UPDATE messages sent.
    pub update_out: u64,
    /// Time of the last UPDATE (Unix seconds).
    pub update_time: i64,
    /// KEEPALIVE messages received.
    pub keepalive_in: u64,
    /// KEEPALIVE messages sent.
    pub keepalive_out: u64,
    /// NOTIFICATION messages received.
    pub notify_in: u64,
    /// NOTIFICATION messages sent.
    pub notify_out: u64,
    /// ROUTE-REFRESH messages received.
    pub refresh_in: u64,
    /// ROUTE-REFRESH messages sent.
    pub refresh_out: u64,
    /// Dynamic capability messages received.
    pub dynamic_cap_in: u64,
    /// Dynamic capability messages sent.
    pub dynamic_cap_out: u64,
    /// Times the session reached Established.
    pub times_established: u64,
    /// Times the session dropped.
    pub times_dropped: u64,
}

/// A socket address as FRR's `lua_pushsockunion` shows it (`{string = "192.0.2.1"}`).
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct SockUnion {
    /// The address as text.
    pub string: String,
}

impl From<IpAddr> for SockUnion {
    fn from(addr: IpAddr) -> Self {
        SockUnion {
            string: addr.to_string(),
        }
    }
}

/// A BGP neighbor (FRR's `struct peer` as `lua_pushpeer` shows it, without the
/// password and the timers).
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Peer {
    /// The neighbor's AS.
    pub remote_as: u32,
    /// Our AS on this session.
    pub local_as: u32,
    /// The neighbor's router id, `{string = "...", value = N}`.
    pub remote_id: InAddr,
    /// Our router id.
    pub local_id: InAddr,
    /// Session state (`"Established"`).
    pub state: String,
    /// The configured description.
    pub description: String,
    /// Session uptime (Unix seconds).
    pub uptime: i64,
    /// Last time a message was read (Unix seconds).
    pub last_readtime: i64,
    /// Last reset (Unix seconds).
    pub last_resettime: i64,
    /// Our end of the session.
    pub local_address: SockUnion,
    /// The neighbor's end of the session.
    pub remote_address: SockUnion,
    /// Capability bits.
    pub capabilities: u32,
    /// Peer flag bits.
    pub flags: u64,
    /// Message counters.
    pub stats: PeerStats,
}

/// One route of the RIB: a prefix, its attributes, and the index of the peer it came
/// from in [`crate::mrt::Rib::peers`].
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The destination.
    pub prefix: IpNet,
    /// Path attributes.
    pub attributes: Attributes,
    /// Index into the RIB's peer list.
    pub peer: u32,
}

/// What zebra hands `on_rib_process_dplane_results` after the data plane answered:
/// one route operation and its outcome.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct DplaneResult {
    /// The operation (`"ROUTE_INSTALL"`).
    pub op: String,
    /// The outcome (`"SUCCESS"`).
    pub status: String,
    /// The route's destination.
    pub prefix: IpNet,
    /// The route's next hop, when it has one.
    pub nexthop: Option<IpAddr>,
    /// The routing table.
    pub table_id: u32,
    /// The VRF.
    pub vrf_id: u32,
    /// Administrative distance (20 for eBGP).
    pub distance: u8,
    /// The route's metric.
    pub metric: u32,
}
