//! `route_match` written by hand with plain mlua, the way FRR's bgp_routemap.c and
//! bgp_script.c do it: fresh tables per call, the result table read back by key and the
//! attributes decoded into the route when the script returned them. The baseline of
//! `route_match/mlua_by_hand`.

use std::path::Path;

use frrhook::mlua::{self, Function, Lua, Table};
use ipnet::IpNet;

use crate::fixture::SCRIPT_DIR;
use crate::route::{Attributes, Origin, Peer};

pub struct ByHand {
    lua: Lua,
    route_match: Function,
}

impl ByHand {
    /// The demo's route-map, `examples/scripts/route_map.lua`.
    pub fn new() -> Self {
        Self::with_script(&Path::new(SCRIPT_DIR).join("route_map.lua"))
    }

    /// The script at `path`, which defines `route_match`.
    pub fn with_script(path: &Path) -> Self {
        Self::with_source(&std::fs::read_to_string(path).expect("the route-map script reads"))
    }

    /// A script given as text, which defines `route_match`.
    pub fn with_source(source: &str) -> Self {
        let lua = Lua::new();
        lua.load(source)
            .set_name("route_map")
            .exec()
            .expect("loads");
        let route_match = lua.globals().get("route_match").expect("route_match");
        ByHand { lua, route_match }
    }

    pub fn call(
        &self,
        prefix: &IpNet,
        attributes: &mut Attributes,
        peer: &Peer,
    ) -> mlua::Result<Option<i64>> {
        let lua = &self.lua;
        let result: Table = self.route_match.call((
            push_prefix(lua, prefix)?,
            push_attributes(lua, attributes)?,
            push_peer(lua, peer)?,
            0,
            1,
            2,
            3,
        ))?;
        let action: Option<i64> = result.get("action")?;
        if let Some(t) = result.get::<Option<Table>>("attributes")? {
            *attributes = decode_attributes(&t)?;
        }
        Ok(action)
    }
}

fn push_prefix(lua: &Lua, p: &IpNet) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("network", p.to_string())?;
    t.set("length", p.prefix_len())?;
    t.set("family", if matches!(p, IpNet::V4(_)) { 2 } else { 10 })?;
    Ok(t)
}

fn push_strings(lua: &Lua, v: &[String]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, s) in v.iter().enumerate() {
        t.set(i + 1, s.as_str())?;
    }
    Ok(t)
}

fn push_attributes(lua: &Lua, a: &Attributes) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let origin = match a.origin {
        Origin::Igp => "igp",
        Origin::Egp => "egp",
        Origin::Incomplete => "incomplete",
    };
    t.set("origin", origin)?;
    t.set("aspath", a.aspath.as_str())?;
    t.set("nexthop", a.nexthop.map(|n| n.to_string()))?;
    t.set("metric", a.metric)?;
    t.set("localpref", a.localpref)?;
    t.set("ifindex", a.ifindex)?;
    t.set("weight", a.weight)?;
    t.set("atomic_aggregate", a.atomic_aggregate)?;
    t.set("community", push_strings(lua, &a.community)?)?;
    t.set("large_community", push_strings(lua, &a.large_community)?)?;
    t.set("extcommunity", push_strings(lua, &a.extcommunity)?)?;
    Ok(t)
}

fn decode_attributes(t: &Table) -> mlua::Result<Attributes> {
    let origin = match t.get::<String>("origin")?.as_str() {
        "igp" => Origin::Igp,
        "egp" => Origin::Egp,
        "incomplete" => Origin::Incomplete,
        other => return Err(mlua::Error::runtime(format!("bad origin {other}"))),
    };
    let nexthop = match t.get::<Option<String>>("nexthop")? {
        Some(s) => Some(s.parse().map_err(mlua::Error::external)?),
        None => None,
    };
    Ok(Attributes {
        origin,
        aspath: t.get("aspath")?,
        nexthop,
        metric: t.get("metric")?,
        localpref: t.get("localpref")?,
        ifindex: t.get("ifindex")?,
        weight: t.get("weight")?,
        atomic_aggregate: t.get("atomic_aggregate")?,
        community: t.get("community")?,
        large_community: t.get("large_community")?,
        extcommunity: t.get("extcommunity")?,
    })
}

fn push_in_addr(lua: &Lua, a: std::net::Ipv4Addr) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("value", u32::from(a))?;
    t.set("string", a.to_string())?;
    Ok(t)
}

fn push_string_table(lua: &Lua, s: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("string", s)?;
    Ok(t)
}

fn push_peer(lua: &Lua, p: &Peer) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("remote_as", p.remote_as)?;
    t.set("local_as", p.local_as)?;
    t.set("remote_id", push_in_addr(lua, p.remote_id.0)?)?;
    t.set("local_id", push_in_addr(lua, p.local_id.0)?)?;
    t.set("state", p.state.as_str())?;
    t.set("description", p.description.as_str())?;
    t.set("uptime", p.uptime)?;
    t.set("last_readtime", p.last_readtime)?;
    t.set("last_resettime", p.last_resettime)?;
    t.set(
        "local_address",
        push_string_table(lua, &p.local_address.string)?,
    )?;
    t.set(
        "remote_address",
        push_string_table(lua, &p.remote_address.string)?,
    )?;
    t.set("capabilities", p.capabilities)?;
    t.set("flags", p.flags)?;
    let s = lua.create_table()?;
    let st = &p.stats;
    s.set("open_in", st.open_in)?;
    s.set("open_out", st.open_out)?;
    s.set("update_in", st.update_in)?;
    s.set("update_out", st.update_out)?;
    s.set("update_time", st.update_time)?;
    s.set("keepalive_in", st.keepalive_in)?;
    s.set("keepalive_out", st.keepalive_out)?;
    s.set("notify_in", st.notify_in)?;
    s.set("notify_out", st.notify_out)?;
    s.set("refresh_in", st.refresh_in)?;
    s.set("refresh_out", st.refresh_out)?;
    s.set("dynamic_cap_in", st.dynamic_cap_in)?;
    s.set("dynamic_cap_out", st.dynamic_cap_out)?;
    s.set("times_established", st.times_established)?;
    s.set("times_dropped", st.times_dropped)?;
    t.set("stats", s)?;
    Ok(t)
}
