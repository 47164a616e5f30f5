//! `examples/scripts/route_map.lua` written in Rust: the baseline of the benchmarks
//! (`route_match/native`) and, in the tests, the check that the Lua route-map does
//! what it says on every route of the sample.

use ipnet::IpNet;

use crate::route::{Attributes, RouteMapAction};

/// Communities that raise the local preference, and to what.
pub const PREFER: [(&str, u32); 2] = [("3356:123", 200), ("2914:410", 150)];
/// AS paths at least this long get MED = `MED_PER_HOP` × length.
pub const LONG_PATH: usize = 8;
/// See [`LONG_PATH`].
pub const MED_PER_HOP: u32 = 10;

/// An IPv4 bogon: first octet, second octet range, third octet range, prefix length.
type Bogon = (u8, (u8, u8), (u8, u8), u8);

/// IPv4 bogons (RFC 6890 and friends), as in the script.
const BOGONS_V4: [Bogon; 12] = [
    (0, (0, 255), (0, 255), 8),
    (10, (0, 255), (0, 255), 8),
    (100, (64, 127), (0, 255), 10),
    (127, (0, 255), (0, 255), 8),
    (169, (254, 254), (0, 255), 16),
    (172, (16, 31), (0, 255), 12),
    (192, (0, 0), (0, 0), 24),
    (192, (0, 0), (2, 2), 24),
    (192, (168, 168), (0, 255), 16),
    (198, (18, 19), (0, 255), 15),
    (198, (51, 51), (100, 100), 24),
    (203, (0, 0), (113, 113), 24),
];

/// Whether the route-map denies `prefix` outright.
pub fn is_bogon_prefix(prefix: &IpNet) -> bool {
    let length = prefix.prefix_len();
    if length == 0 {
        return true;
    }
    match prefix {
        IpNet::V6(p) => {
            let first = p.addr().segments()[0];
            let second = p.addr().segments()[1];
            length > 48
                || (first == 0x2001 && second == 0x0db8)
                || !(0x2000..0x4000).contains(&first)
        }
        IpNet::V4(p) => {
            if length > 24 {
                return true;
            }
            let [a, b, c, _] = p.addr().octets();
            (a >= 224 && length >= 4)
                || BOGONS_V4.iter().any(|&(fa, (blo, bhi), (clo, chi), len)| {
                    a == fa && length >= len && (blo..=bhi).contains(&b) && (clo..=chi).contains(&c)
                })
        }
    }
}

/// Private and reserved AS numbers.
pub fn is_bogon_asn(asn: u64) -> bool {
    asn == 0 || asn == 23456 || (64512..=65535).contains(&asn) || asn >= 4_200_000_000
}

/// The path length (an AS_SET counts one) and whether a bogon ASN is in the path.
pub fn scan_path(aspath: &str) -> (usize, bool) {
    let mut len = 0;
    let mut bad = false;
    for hop in aspath.split_ascii_whitespace() {
        len += 1;
        bad |= hop
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .any(|n| n.parse::<u64>().is_ok_and(is_bogon_asn));
    }
    (len, bad)
}

/// The route-map: the verdict, with `attributes` changed in place when it is
/// `MatchAndChange` (and only then).
pub fn route_match(prefix: &IpNet, attributes: &mut Attributes) -> RouteMapAction {
    if is_bogon_prefix(prefix) {
        return RouteMapAction::NoMatch;
    }
    let (len, bad_asn) = scan_path(&attributes.aspath);
    if bad_asn {
        return RouteMapAction::NoMatch;
    }
    let mut changed = false;
    for c in &attributes.community {
        if let Some((_, pref)) = PREFER.iter().find(|(name, _)| name == c)
            && *pref > attributes.localpref
        {
            attributes.localpref = *pref;
            changed = true;
        }
    }
    let med = MED_PER_HOP * len as u32;
    if len >= LONG_PATH && attributes.metric != med {
        attributes.metric = med;
        changed = true;
    }
    if changed {
        RouteMapAction::MatchAndChange
    } else {
        RouteMapAction::Match
    }
}
