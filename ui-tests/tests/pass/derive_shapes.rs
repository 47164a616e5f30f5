//! `#[derive(LuaCodec)]` on every supported shape, with every option.
use std::borrow::Cow;

use frrhook::codec::{LuaDecode, LuaEncode};
use frrhook::{LuaCodec, Runtime, hook_point};

fn ten() -> u32 {
    10
}

/// A struct with named fields.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
#[lua(rename = "route", rename_all = "camelCase")]
pub struct Route {
    pub prefix_len: u8,
    #[lua(rename = "local_pref")]
    pub preference: u32,
    pub med: Option<u32>,
    #[lua(default)]
    pub communities: Vec<String>,
    #[lua(default = "ten")]
    pub weight: u32,
    #[lua(skip)]
    pub cache: u64,
    pub origin: Origin,
    pub nexthop: Nexthop,
    pub asn: Asn,
}

/// A newtype: exactly its inner value.
#[derive(Debug, Clone, Copy, PartialEq, LuaCodec)]
pub struct Asn(pub u32);

/// Unit variants as strings.
#[derive(Debug, Clone, Copy, PartialEq, LuaCodec)]
#[lua(rename_all = "lowercase")]
pub enum Origin {
    Igp,
    Egp,
    #[lua(rename = "?")]
    Incomplete,
}

/// Unit variants as integers.
#[derive(Debug, Clone, Copy, PartialEq, LuaCodec)]
#[lua(repr = "integer")]
pub enum Family {
    #[lua(value = 2)]
    Inet,
    #[lua(value = 10)]
    Inet6,
    Other = 99,
}

/// Data variants as tagged tables.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
#[lua(tag = "kind", rename_all = "snake_case")]
pub enum Nexthop {
    Blackhole,
    Interface(String),
    Gateway {
        address: String,
        #[lua(rename = "if")]
        ifindex: Option<u32>,
        #[lua(skip)]
        resolved: bool,
    },
}

/// Generic over its payload.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Tagged<T> {
    pub tag: String,
    pub value: T,
}

/// Generic newtype.
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct List<T>(pub Vec<T>);

/// Generic with a skipped generic field (needs `T: Default`).
#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Cached<T> {
    pub key: String,
    #[lua(skip)]
    pub cache: T,
}

/// Borrows: encode only.
#[derive(Debug, LuaCodec)]
pub struct View<'a> {
    pub name: &'a str,
    pub label: Cow<'a, str>,
}

/// Derived types as hook arguments and results.
#[hook_point(results(
    origin: Option<Origin>,
    family: Family = Family::Other,
    nexthop: Option<Nexthop>,
    tagged: Option<Tagged<Asn>>,
))]
fn classify(route: &mut Route, view: &View<'_>, list: List<Family>, cached: &Cached<u8>);

fn roundtrip<T: LuaEncode + LuaDecode + PartialEq + std::fmt::Debug>(
    lua: &frrhook::mlua::Lua,
    v: T,
) {
    let encoded = v.encode(lua).unwrap();
    assert_eq!(T::decode(&encoded).unwrap(), v);
}

fn main() {
    let lua = frrhook::mlua::Lua::new();
    roundtrip(&lua, Origin::Incomplete);
    roundtrip(&lua, Family::Inet6);
    roundtrip(&lua, Nexthop::Interface("eth0".into()));
    roundtrip(&lua, Asn(65000));
    roundtrip(&lua, List(vec![1u8, 2]));
    roundtrip(
        &lua,
        Tagged {
            tag: "t".into(),
            value: Asn(1),
        },
    );
    let view = View {
        name: "x",
        label: Cow::Borrowed("y"),
    };
    view.encode(&lua).unwrap();

    let mut route = Route {
        prefix_len: 24,
        preference: 100,
        med: None,
        communities: vec![],
        weight: 10,
        cache: 0,
        origin: Origin::Igp,
        nexthop: Nexthop::Blackhole,
        asn: Asn(1),
    };
    roundtrip(&lua, route.clone());
    let rt = Runtime::builder().build();
    let cached = Cached {
        key: "k".into(),
        cache: 0u8,
    };
    let r = classify(&rt, &mut route, &view, List(vec![Family::Inet]), &cached).unwrap();
    assert_eq!(r.family, Family::Other);
    assert!(r.origin.is_none() && r.nexthop.is_none() && r.tagged.is_none());
}
