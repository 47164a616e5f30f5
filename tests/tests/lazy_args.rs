//! `&T` arguments reach scripts as lazy tables (`frrhook/src/lazy.rs`): a script cannot
//! tell them from tables built in full, a table kept past its call shows the values of
//! its own call, and a field that cannot be encoded fails the call cleanly.

use std::path::PathBuf;

use frrhook::{ErrorKind, Runtime, Script, args};
use frrhook_tests::Peer;
use frrhook_tests::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// `script` with the Lua function `order(t)` before it: the keys of `t` in `pairs`
/// order, joined by commas.
fn with_order(script: &str) -> String {
    format!(
        r#"
        local function order(t)
          local ks = {{}}
          for k in pairs(t) do ks[#ks + 1] = k end
          return table.concat(ks, ",")
        end
        {script}"#
    )
}

/// Field names of [`Wide`] and [`Sparse`], in declaration order.
const NATO: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

const PROBES: &[&str] = &[
    "p_pairs",
    "p_next",
    "p_next_all",
    "p_rawget",
    "p_rawlen",
    "p_getmetatable",
    "p_setmetatable",
    "p_write_first",
    "p_nil_first",
    "p_new_key_first",
    "p_rawset_first",
    "p_type",
    "p_nested",
    "p_ipairs",
    "p_as_key",
    "p_concat_error",
    "p_call_error",
    "p_table_lib",
    "p_coroutine",
    "p_partial_then_pairs",
    "p_read_clear_read",
    "p_nested_identity",
    "p_next_from_pairs",
    "p_nil_key",
];

/// What `function` returns as `out` through the hook (lazy `peer`).
fn through_hook(function: &str) -> String {
    let rt = Runtime::new(dir());
    rt.attach("test.route_match", "lazy_probes", function)
        .unwrap();
    let (p, mut a, peer) = sample_route();
    let r = route_match(&rt, &p, &mut a, &peer).unwrap();
    r.get::<String>("out").unwrap().expect("out")
}

/// What `function` returns as `out` through `Script`, whose arguments are built in full.
fn through_script(function: &str) -> String {
    let mut s = Script::new("lazy_probes").with_dir(dir());
    s.load(function).unwrap();
    let (p, mut a, peer) = sample_route();
    s.call(
        function,
        args!(prefix = &p, attributes = &mut a, peer = &peer),
    )
    .unwrap();
    s.get_result::<String>(function, "out")
        .unwrap()
        .expect("out")
}

#[test]
fn a_script_cannot_tell_a_lazy_argument_from_a_full_table() {
    for probe in PROBES {
        let (lazy, full) = (through_hook(probe), through_script(probe));
        assert_eq!(lazy, full, "{probe}");
    }
    // The probes look at what they claim to.
    assert_eq!(
        through_hook("p_pairs"),
        "local_as,remote_as,remote_id,state,stats"
    );
    assert_eq!(
        through_hook("p_nil_first"),
        "nil/65001/remote_as,remote_id,state,stats"
    );
    assert_eq!(through_hook("p_nested"), "7/192.0.2.1/Established");
    assert_eq!(
        through_hook("p_partial_then_pairs"),
        "65001/remote_as,remote_id,state,stats/Idle"
    );
    assert_eq!(through_hook("p_read_clear_read"), "Established/nil/nil");
    assert_eq!(through_hook("p_nested_identity"), "true/1");
    assert_eq!(through_hook("p_next_from_pairs"), "5/true");
    assert!(
        through_hook("p_nil_key").starts_with("false:lazy_probes.lua:"),
        "{}",
        through_hook("p_nil_key")
    );
}

#[test]
fn writing_to_a_lazy_argument_never_reaches_the_host() {
    let rt = Runtime::new(dir());
    rt.attach("test.route_match", "lazy_probes", "p_write_first")
        .unwrap();
    let (p, mut a, peer) = sample_route();
    let before = peer.clone();
    route_match(&rt, &p, &mut a, &peer).unwrap();
    assert_eq!(peer, before);
}

const KEEPER: &str = r#"
kept = nil
function keep_untouched(_, _, peer)
  if kept == nil then kept = peer; return { out = "kept" } end
  return { out = kept.remote_as .. "/" .. kept.stats.update_in .. "/" .. peer.remote_as }
end
function keep_touched(_, _, peer)
  if kept == nil then kept = peer; return { out = "kept " .. peer.remote_as } end
  return { out = kept.remote_as .. "/" .. kept.stats.update_in .. "/" .. peer.remote_as }
end
"#;

fn kept_then_read(function: &str) -> (String, String) {
    let tmp = script_dir(&[("keeper", KEEPER)]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "keeper", function).unwrap();
    let (p, mut a, mut peer) = sample_route();
    let first = route_match(&rt, &p, &mut a, &peer).unwrap();
    // A later route from another peer.
    peer.remote_as = 65099;
    peer.stats.update_in = 1000;
    let second = route_match(&rt, &p, &mut a, &peer).unwrap();
    (
        first.get::<String>("out").unwrap().unwrap(),
        second.get::<String>("out").unwrap().unwrap(),
    )
}

#[test]
fn a_kept_argument_shows_its_own_call_whether_it_was_read_or_not() {
    // Untouched during its call: it keeps a copy, read only in the next call.
    assert_eq!(
        kept_then_read("keep_untouched"),
        ("kept".to_string(), "65001/7/65099".to_string())
    );
    // Read in part during its call: the field read keeps the value it had then, the
    // others come from the copy.
    assert_eq!(
        kept_then_read("keep_touched"),
        ("kept 65001".to_string(), "65001/7/65099".to_string())
    );
}

#[test]
fn thousands_of_kept_arguments_keep_their_values() {
    // More untouched tables than a state keeps copies of (4096): the rest are filled
    // when their call ends. Every one must still show its own call's peer.
    let tmp = script_dir(&[(
        "hoarder",
        r#"
        kept = {}
        function hoard(_, _, peer)
          if peer.remote_as ~= 0 then kept[#kept + 1] = peer; return {} end
          local bad = 0
          for i, p in ipairs(kept) do
            if p.remote_as ~= i or p.stats.update_in ~= i * 2 then bad = bad + 1 end
          end
          return { out = #kept .. " kept, " .. bad .. " wrong" }
        end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "hoarder", "hoard").unwrap();
    let (p, mut a, mut peer) = sample_route();
    for i in 1..=5000u32 {
        peer.remote_as = i;
        peer.stats.update_in = u64::from(i) * 2;
        route_match(&rt, &p, &mut a, &peer).unwrap();
    }
    peer.remote_as = 0;
    let r = route_match(&rt, &p, &mut a, &peer).unwrap();
    assert_eq!(
        r.get::<String>("out").unwrap().unwrap(),
        "5000 kept, 0 wrong"
    );
}

#[test]
fn returning_an_untouched_argument_as_the_result_table_returns_its_fields() {
    let tmp = script_dir(&[("ret", "function f(_, _, peer) return peer end")]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "ret", "f").unwrap();
    let (p, mut a, peer) = sample_route();
    let r = route_match(&rt, &p, &mut a, &peer).unwrap();
    assert_eq!(r.action, None);
    assert_eq!(r.get::<u32>("remote_as").unwrap(), Some(65001));
    assert_eq!(r.get::<Peer>("nope").unwrap(), None);
}

#[test]
fn a_partly_read_argument_returned_in_the_results_decodes_whole() {
    // `peer.stats` becomes a lazy table of its own when read; `remote_id` is assigned.
    let tmp = script_dir(&[(
        "ret",
        r#"
        function f(_, _, peer)
          local n = peer.stats.update_in
          peer.remote_id = { string = "192.0.2.9", value = 3221225993 }
          return { x = peer, n = n }
        end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "ret", "f").unwrap();
    let (p, mut a, peer) = sample_route();
    let r = route_match(&rt, &p, &mut a, &peer).unwrap();
    let mut expected = peer.clone();
    expected.remote_id = frrhook::codec::frr::InAddr("192.0.2.9".parse().unwrap());
    assert_eq!(r.get::<Peer>("x").unwrap(), Some(expected));
    assert_eq!(r.get::<u64>("n").unwrap(), Some(peer.stats.update_in));
}

#[test]
fn a_hook_without_reference_arguments_reads_a_kept_table_its_script_returns() {
    // `counter` has no `&T` parameter, so its calls make no lazy table; its script can
    // still return one that an earlier `route_match` call left untouched and kept.
    let tmp = script_dir(&[(
        "saver",
        r#"
        local saved
        function keep(_, _, peer) saved = peer; return {} end
        function give(n) return saved end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "saver", "keep").unwrap();
    rt.attach("test.counter", "saver", "give").unwrap();
    let (p, mut a, peer) = sample_route();
    route_match(&rt, &p, &mut a, &peer).unwrap();
    let mut n = 5;
    let r = counter(&rt, &mut n).unwrap();
    assert_eq!(r.get::<u32>("remote_as").unwrap(), Some(65001));
    assert_eq!(n, 5, "no key `n`: unchanged");
}

#[test]
fn a_field_that_cannot_be_encoded_fails_the_call_when_read() {
    let tmp = script_dir(&[(
        "reader",
        r#"
        function reads(_, attributes, peer)
          attributes.metric = 99
          return { attributes = attributes, x = peer.stats.update_in }
        end
        function catches(_, attributes, peer)
          attributes.metric = 99
          local ok = pcall(function() return peer.stats.update_in end)
          return { attributes = attributes, caught = not ok }
        end
        function ignores(_, attributes, peer)
          attributes.metric = 99
          return { attributes = attributes }
        end
        "#,
    )]);
    let (p, a0, mut peer) = sample_route();
    // u64::MAX does not fit in a Lua integer.
    peer.stats.update_in = u64::MAX;
    for function in ["reads", "catches"] {
        let rt = Runtime::new(tmp.path());
        rt.attach("test.route_match", "reader", function).unwrap();
        let mut a = a0.clone();
        let e = route_match(&rt, &p, &mut a, &peer).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Encode, "{function}: {e}");
        assert!(e.message().contains("argument `peer`"), "{e}");
        assert!(e.message().contains("does not fit in a Lua integer"), "{e}");
        assert_eq!(
            (e.hook(), e.script(), e.function()),
            (Some("test.route_match"), Some("reader"), Some(function))
        );
        assert_eq!(a, a0, "{function}: attributes untouched");
    }
    // A script that never reads `peer` never needs it encoded.
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "reader", "ignores").unwrap();
    let mut a = a0.clone();
    route_match(&rt, &p, &mut a, &peer).unwrap();
    assert_eq!(a.metric, 99);
}

/// Two arguments of one type in one call: `lazy` (`&T`) and `full` (`&mut T`, built in
/// full), so that what depends on the state (string hashes, table layout) is the same.
#[frrhook::hook_point(name = "test_lazy.two", results(out: String = String::new()))]
fn two(lazy: &Peer, full: &mut Peer);

#[test]
fn pairs_visits_a_lazy_argument_in_the_order_of_a_full_table() {
    let tmp = script_dir(&[(
        "order",
        &with_order(
            r#"
        function untouched(lazy, full)
          return { out = order(lazy) .. " | " .. order(full) }
        end
        function after_reads(lazy, full)
          local _ = lazy.stats.update_in .. lazy.state
          local _ = full.stats.update_in .. full.state
          lazy.extra, full.extra = 1, 1
          return { out = order(lazy) .. " | " .. order(full) }
        end
        -- Fields read one by one in reverse order, then iterated.
        function reversed(lazy, full)
          local fields = { "stats", "state", "remote_id", "local_as", "remote_as" }
          local a, b = {}, {}
          for _, k in ipairs(fields) do a[#a + 1] = tostring(lazy[k]) ~= nil end
          for _, k in ipairs(fields) do b[#b + 1] = tostring(full[k]) ~= nil end
          return { out = order(lazy) .. " | " .. order(full) }
        end
        -- Fields assigned, cleared before and after being read, then iterated.
        function assigned(lazy, full)
          for _, t in ipairs({ lazy, full }) do
            t.local_as = 1
            t.state = nil
            local _ = t.remote_id
            t.remote_id = nil
            t.remote_as = t.local_as + 1
          end
          return { out = order(lazy) .. "=" .. tostring(lazy.state) .. tostring(lazy.remote_id)
            .. lazy.local_as .. lazy.remote_as
            .. " | " .. order(full) .. "=" .. tostring(full.state) .. tostring(full.remote_id)
            .. full.local_as .. full.remote_as }
        end
        -- A nested table read twice is the same table, and what is written to it stays.
        function nested(lazy, full)
          for _, t in ipairs({ lazy, full }) do
            t.stats.update_in = t.stats.update_in + 1
            t.stats.extra = rawequal(t.stats, t.stats)
          end
          return { out = lazy.stats.update_in .. tostring(lazy.stats.extra) .. order(lazy.stats)
            .. " | " .. full.stats.update_in .. tostring(full.stats.extra) .. order(full.stats) }
        end
        "#,
        ),
    )]);
    for function in ["untouched", "after_reads", "reversed", "assigned", "nested"] {
        let rt = Runtime::new(tmp.path());
        rt.attach("test_lazy.two", "order", function).unwrap();
        let (_, _, peer) = sample_route();
        let mut full = peer.clone();
        let out = two(&rt, &peer, &mut full).unwrap().out;
        let (lazy, full) = out.split_once(" | ").unwrap();
        assert_eq!(lazy, full, "{function}");
    }
}

/// Sixteen fields in a table sized for sixteen: some keys collide, so where each lands
/// depends on which keys were inserted before it.
#[derive(Clone, Debug, PartialEq, frrhook::LuaCodec)]
struct Wide {
    alpha: u32,
    bravo: u32,
    charlie: u32,
    delta: u32,
    echo: u32,
    foxtrot: u32,
    golf: u32,
    hotel: u32,
    india: u32,
    juliet: u32,
    kilo: u32,
    lima: u32,
    mike: u32,
    november: u32,
    oscar: u32,
    papa: u32,
}

#[frrhook::hook_point(name = "test_lazy.wide", results(out: String = String::new()))]
fn wide(lazy: &Wide, full: &mut Wide, field: String);

#[test]
fn a_field_cleared_before_pairs_keeps_its_slot_as_in_a_full_table() {
    let tmp = script_dir(&[(
        "wide",
        &with_order(
            r#"
        function clear(lazy, full, field)
          lazy[field], full[field] = nil, nil
          return { out = order(lazy) .. " | " .. order(full) }
        end
        "#,
        ),
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.wide", "wide", "clear").unwrap();
    let v = Wide {
        alpha: 1,
        bravo: 2,
        charlie: 3,
        delta: 4,
        echo: 5,
        foxtrot: 6,
        golf: 7,
        hotel: 8,
        india: 9,
        juliet: 10,
        kilo: 11,
        lima: 12,
        mike: 13,
        november: 14,
        oscar: 15,
        papa: 16,
    };
    for field in NATO {
        let mut full = v.clone();
        let out = wide(&rt, &v, &mut full, field.to_string()).unwrap().out;
        let (lazy, full) = out.split_once(" | ").unwrap();
        assert_eq!(lazy, full, "cleared `{field}`");
        assert!(!lazy.split(',').any(|k| k == field), "{lazy}");
    }
}

/// Sixteen optional fields, for fields that a full table does not have.
#[derive(Clone, Debug, PartialEq, frrhook::LuaCodec)]
struct Sparse {
    alpha: Option<u32>,
    bravo: Option<u32>,
    charlie: Option<u32>,
    delta: Option<u32>,
    echo: Option<u32>,
    foxtrot: Option<u32>,
    golf: Option<u32>,
    hotel: Option<u32>,
    india: Option<u32>,
    juliet: Option<u32>,
    kilo: Option<u32>,
    lima: Option<u32>,
    mike: Option<u32>,
    november: Option<u32>,
    oscar: Option<u32>,
    papa: Option<u32>,
}

#[frrhook::hook_point(name = "test_lazy.sparse", results(out: String = String::new()))]
fn sparse(lazy: &Sparse, full: &mut Sparse, field: String);

#[test]
fn a_field_absent_from_the_full_table_lands_where_assigning_it_puts_it() {
    let tmp = script_dir(&[(
        "sparse",
        &with_order(
            r#"
        function assign(lazy, full, field)
          lazy[field], full[field] = 1, 1
          return { out = order(lazy) .. " | " .. order(full) }
        end
        function assign_then_clear(lazy, full, field)
          lazy[field], full[field] = 1, 1
          lazy[field], full[field] = nil, nil
          return { out = order(lazy) .. " | " .. order(full) }
        end
        function clear_absent(lazy, full, field)
          lazy[field], full[field] = nil, nil
          return { out = tostring(lazy[field]) .. order(lazy) .. " | " .. tostring(full[field]) .. order(full) }
        end
        "#,
        ),
    )]);
    for function in ["assign", "assign_then_clear", "clear_absent"] {
        let rt = Runtime::new(tmp.path());
        rt.attach("test_lazy.sparse", "sparse", function).unwrap();
        for (i, field) in NATO.iter().enumerate() {
            // Every field set but `field`.
            let mut v = Sparse {
                alpha: Some(1),
                bravo: Some(1),
                charlie: Some(1),
                delta: Some(1),
                echo: Some(1),
                foxtrot: Some(1),
                golf: Some(1),
                hotel: Some(1),
                india: Some(1),
                juliet: Some(1),
                kilo: Some(1),
                lima: Some(1),
                mike: Some(1),
                november: Some(1),
                oscar: Some(1),
                papa: Some(1),
            };
            let fields = [
                &mut v.alpha,
                &mut v.bravo,
                &mut v.charlie,
                &mut v.delta,
                &mut v.echo,
                &mut v.foxtrot,
                &mut v.golf,
                &mut v.hotel,
                &mut v.india,
                &mut v.juliet,
                &mut v.kilo,
                &mut v.lima,
                &mut v.mike,
                &mut v.november,
                &mut v.oscar,
                &mut v.papa,
            ];
            *fields[i] = None;
            let mut full = v.clone();
            let out = sparse(&rt, &v, &mut full, field.to_string()).unwrap().out;
            let (lazy, full) = out.split_once(" | ").unwrap();
            assert_eq!(lazy, full, "{function} `{field}`");
        }
    }
}

/// Nine fields (enough to be read field by field), one of them a nested struct.
#[derive(Clone, Debug, PartialEq, frrhook::LuaCodec)]
struct Counters {
    a: u32,
    b: u32,
    c: u32,
    d: u32,
    e: u32,
    f: u32,
    g: u32,
    big: u64,
    inner: Inner,
}

#[derive(Clone, Debug, PartialEq, frrhook::LuaCodec)]
struct Inner {
    x: u32,
    y: u64,
}

#[frrhook::hook_point(name = "test_lazy.counters", results(out: String = String::new()))]
fn counters(lazy: &Counters, full: &mut Counters);

fn counters_value(big: u64) -> Counters {
    Counters {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
        f: 6,
        g: 7,
        big,
        inner: Inner { x: 8, y: big },
    }
}

#[test]
fn fields_that_cannot_be_encoded_fail_only_a_script_that_reads_them() {
    let tmp = script_dir(&[(
        "counters",
        r#"
        function reads_others(c) return { out = tostring(c.a + c.b) } end
        function reads_big(c) return { out = tostring(c.big) } end
        function catches_big(c)
          local ok = pcall(function() return c.inner.y end)
          return { out = tostring(ok) }
        end
        function assigns_big(c)
          c.big = 0
          c.inner = { x = 1, y = 2 }
          return { out = tostring(c.big + c.inner.y) }
        end
        -- `inner` has two fields: a table that small is filled whole on its first
        -- touch, so even assigning one of its fields encodes the other.
        function assigns_inner_y(c)
          local i = c.inner
          i.y = 0
          return { out = tostring(i.x + i.y) }
        end
        "#,
    )]);
    // u64::MAX does not fit in a Lua integer.
    let v = counters_value(u64::MAX);
    for (function, out) in [
        ("reads_others", Some("3")),
        ("reads_big", None),
        ("catches_big", None),
        ("assigns_big", Some("2")),
        ("assigns_inner_y", None),
    ] {
        let rt = Runtime::new(tmp.path());
        rt.attach("test_lazy.counters", "counters", function)
            .unwrap();
        let mut full = counters_value(1);
        match (counters(&rt, &v, &mut full), out) {
            (Ok(r), Some(out)) => assert_eq!(r.out, out, "{function}"),
            (Err(e), None) => {
                assert_eq!(e.kind(), ErrorKind::Encode, "{function}: {e}");
                assert!(e.message().contains("argument `lazy`"), "{e}");
            }
            (r, out) => panic!("{function}: {:?} against {out:?}", r.map(|r| r.out)),
        }
    }
}

#[test]
fn a_fill_that_fails_halfway_leaves_the_table_as_it_was() {
    let tmp = script_dir(&[(
        "counters",
        r#"
        -- The first call: `big` cannot be encoded, so making `c` whole fails after
        -- some fields. The second: what the script saw, and its kept table.
        function twice(c)
          if kept == nil then return fails(c) end
          return later(c)
        end
        function fails(c)
          kept = c
          c.a = nil
          c.b = 20
          local ok = pcall(pairs, c)
          seen = tostring(c.a) .. "/" .. c.b .. "/" .. c.c .. "/" .. tostring(ok)
          return {}
        end
        function later(c)
          kept.d = nil
          kept.e = 100
          return { out = seen .. " " .. tostring(kept.a) .. "/" .. kept.b .. "/"
            .. tostring(kept.d) .. "/" .. kept.e .. "/" .. kept.f }
        end
        function loops(c)
          local s = 0
          for _ = 1, 40 do s = s + c.a end
          return { out = tostring(s) }
        end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.counters", "counters", "twice")
        .unwrap();
    let mut full = counters_value(1);
    let e = counters(&rt, &counters_value(u64::MAX), &mut full).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Encode, "{e}");
    // What the script saw after the failed fill, and its kept table in a later call:
    // the values it set and cleared, the others its call's, nothing half-filled.
    let out = counters(&rt, &counters_value(1), &mut full).unwrap().out;
    assert_eq!(out, "nil/20/3/false nil/20/nil/100/6");
    // Past the access bound the table is made whole only if it can be: reading `a` in
    // a loop does not fail because `big` cannot be encoded.
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.counters", "counters", "loops")
        .unwrap();
    let out = counters(&rt, &counters_value(u64::MAX), &mut full)
        .unwrap()
        .out;
    assert_eq!(out, "40");
}

#[test]
fn a_nested_table_read_field_by_field_is_one_table_laid_out_as_a_full_one() {
    let tmp = script_dir(&[(
        "counters",
        &with_order(
            r#"
        function nested(lazy, full)
          for _, t in ipairs({ lazy, full }) do
            t.inner.x = t.inner.x + 1
            t.inner.extra = rawequal(t.inner, t.inner)
            t.g = nil
          end
          return { out = lazy.inner.x .. tostring(lazy.inner.extra) .. order(lazy.inner)
            .. order(lazy) .. " | " .. full.inner.x .. tostring(full.inner.extra)
            .. order(full.inner) .. order(full) }
        end
        "#,
        ),
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.counters", "counters", "nested")
        .unwrap();
    let v = counters_value(1);
    let mut full = v.clone();
    let out = counters(&rt, &v, &mut full).unwrap().out;
    let (lazy, full) = out.split_once(" | ").unwrap();
    assert_eq!(lazy, full);
    assert!(lazy.starts_with("9true"), "{lazy}");
}

#[test]
fn a_fill_that_fails_after_the_call_is_not_the_next_calls_failure() {
    let tmp = script_dir(&[(
        "ret",
        "function f(_, _, peer) return { x = peer } end\nfunction g(_, _, peer) return {} end",
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "ret", "f").unwrap();
    let (p, mut a, mut bad) = sample_route();
    bad.stats.update_in = u64::MAX;
    let r = route_match(&rt, &p, &mut a, &bad).unwrap();
    // The host decodes the kept table after the call: its own error.
    let e = r.get::<Peer>("x").unwrap_err();
    assert!(
        e.to_string().contains("does not fit in a Lua integer"),
        "{e}"
    );
    // The next call, with a good peer the script does not read, is fine.
    rt.detach("test.route_match", "ret", "f").unwrap();
    rt.attach("test.route_match", "ret", "g").unwrap();
    let (_, _, good) = sample_route();
    route_match(&rt, &p, &mut a, &good).unwrap();
}

#[test]
fn past_the_bound_an_unreadable_argument_fails_only_the_call_that_reads_it() {
    let tmp = script_dir(&[(
        "hoarder",
        r#"
        kept = {}
        function hoard(_, attributes, peer)
          kept[#kept + 1] = peer
          if attributes.metric == 0 then
            return { out = tostring(kept[#kept - 1].stats.update_in) }
          end
          return {}
        end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "hoarder", "hoard").unwrap();
    let (p, mut a, mut peer) = sample_route();
    for i in 1..=4200u32 {
        peer.remote_as = i;
        route_match(&rt, &p, &mut a, &peer).unwrap();
    }
    // More than 4096 kept: this untouched peer cannot be filled when its call ends
    // (u64::MAX), and its call does not fail for it.
    peer.stats.update_in = u64::MAX;
    route_match(&rt, &p, &mut a, &peer).unwrap();
    // The call that reads it does.
    let (_, _, last) = sample_route();
    a.metric = 0;
    let e = route_match(&rt, &p, &mut a, &last).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Encode, "{e}");
}

/// A value whose encoder panics.
#[derive(Clone, Debug)]
struct Boom;

impl frrhook::LuaEncode for Boom {
    fn encode(&self, _: &frrhook::mlua::Lua) -> frrhook::mlua::Result<frrhook::mlua::Value> {
        panic!("the encoder of Boom panicked");
    }
}

impl frrhook::LuaDecode for Boom {
    frrhook::codec::whole_value_update!();
    fn decode(_: &frrhook::mlua::Value) -> Result<Self, frrhook::DecodeError> {
        Ok(Boom)
    }
}

#[derive(Clone, Debug, frrhook::LuaCodec)]
struct Holder {
    n: u32,
    boom: Boom,
}

#[frrhook::hook_point(name = "test_lazy.holder", results(n: i64 = 0, ..))]
fn holder(h: &Holder);

#[test]
fn an_encoder_panic_inside_the_script_reaches_the_host_and_leaves_the_state_usable() {
    let tmp = script_dir(&[(
        "h",
        r#"
        kept, calls = {}, 0
        function f(h)
          kept[#kept + 1] = h
          calls = calls + 1
          if calls > 300 then return { n = 7 } end
          return { n = h.boom and 1 or 0 }
        end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.holder", "h", "f").unwrap();
    for _ in 0..300 {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            holder(&rt, &Holder { n: 1, boom: Boom })
        }));
        let payload = r.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<&str>().copied(),
            Some("the encoder of Boom panicked")
        );
    }
    // After 300 panics the state still runs calls (no leftover Lua frames).
    for _ in 0..10 {
        assert_eq!(holder(&rt, &Holder { n: 7, boom: Boom }).unwrap().n, 7);
    }
}

#[test]
fn an_encoder_panic_after_the_call_is_an_error_of_that_fill_only() {
    let tmp = script_dir(&[(
        "h",
        "function keep(h) return { x = h } end\nfunction ignore(h) return { n = 3 } end",
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.holder", "h", "keep").unwrap();
    let r = holder(&rt, &Holder { n: 1, boom: Boom }).unwrap();
    // The host decodes the kept table: the encoder panics inside Lua; that fill fails.
    assert!(r.get::<Holder>("x").is_err());
    drop(r);
    // Nothing is left over for the next call.
    rt.detach("test_lazy.holder", "h", "keep").unwrap();
    rt.attach("test_lazy.holder", "h", "ignore").unwrap();
    assert_eq!(holder(&rt, &Holder { n: 1, boom: Boom }).unwrap().n, 3);
}

#[test]
fn past_the_bound_an_encoder_panic_does_not_fail_a_call_that_never_read_it() {
    let tmp = script_dir(&[(
        "h",
        "kept = {}\nfunction f(h) kept[#kept + 1] = h return { n = #kept } end",
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.holder", "h", "f").unwrap();
    for i in 1..=4200 {
        assert_eq!(holder(&rt, &Holder { n: 1, boom: Boom }).unwrap().n, i);
    }
}

#[test]
fn a_kept_table_read_after_its_state_was_replaced_still_fills() {
    let tmp = script_dir(&[("ret", "function f(_, _, peer) return { x = peer } end")]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test.route_match", "ret", "f").unwrap();
    let (p, mut a, peer) = sample_route();
    let r = route_match(&rt, &p, &mut a, &peer).unwrap();
    // Keep the state alive from outside, then make the runtime replace it.
    let lua = r.tables().tables()[0].weak_lua().try_upgrade().unwrap();
    rt.add_script("other", "function g() return {} end")
        .unwrap();
    rt.attach("test.counter", "other", "g").unwrap();
    let mut n = 0;
    counter(&rt, &mut n).unwrap();
    // The old state's kept table still fills from its copy.
    assert_eq!(r.get::<Peer>("x").unwrap(), Some(peer));
    drop(lua);
}

/// A value whose `Clone` panics.
#[derive(Debug)]
struct PanicClone;

impl Clone for PanicClone {
    fn clone(&self) -> Self {
        panic!("PanicClone cannot be cloned");
    }
}

impl frrhook::LuaEncode for PanicClone {
    fn encode(&self, _: &frrhook::mlua::Lua) -> frrhook::mlua::Result<frrhook::mlua::Value> {
        Ok(frrhook::mlua::Value::Boolean(true))
    }
}

impl frrhook::LuaDecode for PanicClone {
    frrhook::codec::whole_value_update!();
    fn decode(_: &frrhook::mlua::Value) -> Result<Self, frrhook::DecodeError> {
        Ok(PanicClone)
    }
}

#[derive(Clone, Debug, frrhook::LuaCodec)]
struct Uncopyable {
    n: u32,
    big: u64,
    c: PanicClone,
}

#[frrhook::hook_point(name = "test_lazy.uncopyable", results(out: String = String::new()))]
fn uncopyable(u: &Uncopyable);

#[test]
fn a_kept_table_that_can_neither_be_copied_nor_filled_raises_when_read() {
    let tmp = script_dir(&[(
        "u",
        r#"
        function f(u)
          if kept == nil then kept = u return {} end
          for _ in pairs(u) do end -- read in full: this call's own table needs no copy
          local n = kept.n -- set before the fill failed: its call's value
          local ok, e = pcall(function() return kept.big end)
          return { out = n .. "/" .. tostring(ok) .. ":" .. tostring(e) }
        end
        "#,
    )]);
    let rt = Runtime::new(tmp.path());
    rt.attach("test_lazy.uncopyable", "u", "f").unwrap();
    // `Clone` panics when the call ends; filling instead fails (u64::MAX): the panic
    // reaches the host.
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        uncopyable(
            &rt,
            &Uncopyable {
                n: 5,
                big: u64::MAX,
                c: PanicClone,
            },
        )
    }));
    assert!(first.is_err());
    // The kept table never shows a wrong value: what was set is its call's, what
    // could not be set raises.
    let out = uncopyable(
        &rt,
        &Uncopyable {
            n: 6,
            big: 1,
            c: PanicClone,
        },
    )
    .map(|r| r.out)
    .unwrap_or_else(|e| e.to_string());
    assert!(out.starts_with("5/false:"), "{out}");
    assert!(out.contains("outlived its call"), "{out}");
}
