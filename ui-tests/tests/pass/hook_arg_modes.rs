//! Every way of passing an argument, trailing constants, every result form, and the
//! arguments struct as an alternative call syntax.
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use frrhook::{LuaCodec, Runtime, hook_point};
use ipnet::IpNet;

#[derive(Debug, Clone, PartialEq, LuaCodec)]
pub struct Attributes {
    pub metric: u32,
    #[lua(default)]
    pub community: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, LuaCodec)]
#[lua(repr = "integer")]
pub enum Action {
    Failure = 0,
    NoMatch = 1,
    Match = 2,
    MatchAndChange = 3,
}

/// FRR's route_match contract: `&T`, `&mut T`, by value, codes as constants.
#[hook_point(
    name = "ui.route_match",
    results(
        /// What the script decided.
        action: Option<Action>,
        reason: String = String::from("none"),
        weight: i64 = -1,
        r#type: std::option::Option<String>,
        ..
    ),
    consts(RM_FAILURE = 0, RM_NOMATCH = 1, RM_MATCH = 2, RM_MATCH_AND_CHANGE = 3, MIN = -9223372036854775808),
    on_error = defaults,
)]
pub fn route_match(prefix: &IpNet, attributes: &mut Attributes, peer_as: u32);

/// Unsized and borrowed arguments: `&str`, `&[T]`, `Option<&str>`, `Cow<str>`, maps.
#[hook_point]
fn observe(
    status: &str,
    nexthops: &[Ipv4Addr],
    note: Option<&str>,
    name: Cow<str>,
    tags: &BTreeMap<String, u32>,
    names: Vec<&'_ str>,
);

/// Several `&mut` arguments; the keyword-named parameter is passed as `type`.
#[hook_point(name = "ui.in_out", on_error = fail_closed)]
fn in_out(priority: &mut u8, labels: &mut Vec<String>, r#type: &'static str);

/// No arguments at all.
#[hook_point]
fn tick();

fn main() {
    let rt = Runtime::builder().build();
    let prefix: IpNet = "10.0.0.0/8".parse().unwrap();
    let mut attributes = Attributes {
        metric: 10,
        community: vec![],
    };
    let r = route_match(&rt, &prefix, &mut attributes, 65000).unwrap();
    assert_eq!(r.action, None);
    assert_eq!(r.reason, "none");
    assert_eq!(r.weight, -1);
    assert_eq!(r.r#type, None);
    assert_eq!(r.get::<u32>("other").unwrap(), None);

    let r = RouteMatchArgs {
        prefix: &prefix,
        attributes: &mut attributes,
        peer_as: 1,
    }
    .call(&rt)
    .unwrap();
    assert_eq!(r.action, None);
    assert_eq!(RouteMatchArgs::hook().name, "ui.route_match");

    let label = String::from("x");
    observe(
        &rt,
        "installed",
        &[Ipv4Addr::LOCALHOST],
        None,
        Cow::Borrowed(&label),
        &BTreeMap::new(),
        vec!["a"],
    )
    .unwrap();

    let mut priority = 100;
    let mut labels = Vec::new();
    in_out(&rt, &mut priority, &mut labels, "vrrp").unwrap();
    assert_eq!(priority, 100);
    tick(&rt).unwrap();
}
