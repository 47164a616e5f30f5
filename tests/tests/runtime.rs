//! Layer 2: hooks on a Runtime: shapes, chains, errors, stats, shared store, isolation.

use std::path::PathBuf;

use frrhook::{ErrorKind, Runtime, SharedValue};
use frrhook_tests::*;

fn frr_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

#[test]
fn nothing_attached_returns_defaults_and_touches_nothing() {
    let rt = Runtime::new(frr_dir());
    let (p, mut a, peer) = sample_route();
    let before = a.clone();
    let r = route_match(&rt, &p, &mut a, &peer).unwrap();
    assert_eq!(r.action, None);
    assert_eq!(a, before);
    let mut prio = 100u8;
    let r = priority(&rt, 1, &mut prio, true).unwrap();
    assert_eq!((prio, r.reason.as_str()), (100, ""));
}

#[test]
fn frr_documented_route_match_runs_unchanged() {
    let rt = Runtime::new(frr_dir());
    rt.attach("test.route_match", "frr_route_match", "route_match")
        .unwrap();
    let (_, mut a, mut peer) = sample_route();

    // update_in = 7: odd and not a multiple of 3 -> match and change, metric + 7
    peer.stats.update_in = 7;
    let r = route_match(&rt, &"10.0.0.0/24".parse().unwrap(), &mut a, &peer).unwrap();
    assert_eq!(r.action, Some(RouteMapAction::MatchAndChange));
    assert_eq!(a.metric, 17);

    // update_in = 4 -> no match, attributes untouched
    peer.stats.update_in = 4;
    let r = route_match(&rt, &"10.0.0.0/24".parse().unwrap(), &mut a, &peer).unwrap();
    assert_eq!(r.action, Some(RouteMapAction::NoMatch));
    assert_eq!(a.metric, 17);

    // a special route, matched by its prefix string
    let r = route_match(&rt, &"192.168.0.24/8".parse().unwrap(), &mut a, &peer).unwrap();
    assert_eq!(r.action, Some(RouteMapAction::MatchAndChange));
    assert_eq!(a.metric, 24);

    // update_in = 9 -> on_match returns {attributes = RM_MATCH}: no action, and the
    // integer is not a valid attributes table. Fail-closed: a clean decode error.
    peer.stats.update_in = 9;
    let e = route_match(&rt, &"10.0.0.0/24".parse().unwrap(), &mut a, &peer).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.message(), "attributes: expected table, got integer (2)");
    assert_eq!(
        (e.hook(), e.script(), e.function()),
        (
            Some("test.route_match"),
            Some("frr_route_match"),
            Some("route_match")
        )
    );
    assert_eq!(a.metric, 24, "a failed call modifies nothing");
}

#[test]
fn frr_on_match_branch_fails_open_to_no_action() {
    let rt = Runtime::new(frr_dir());
    rt.attach("test.route_match_open", "frr_route_match", "route_match")
        .unwrap();
    let (p, mut a, mut peer) = sample_route();
    peer.stats.update_in = 9;
    let before = a.clone();
    let r = route_match_open(&rt, &p, &mut a, &peer).unwrap();
    assert_eq!(r.action, None, "no action");
    assert_eq!(a, before);
    let stats = rt.hook_stats("test.route_match_open").unwrap();
    assert_eq!(
        (stats.stats.calls, stats.stats.errors_of(ErrorKind::Decode)),
        (1, 1)
    );
}

#[test]
fn observe_only_and_in_out_scalar_hooks() {
    let dir = script_dir(&[(
        "vrrp",
        r#"
        seen = {}
        function on_install(prefix, table_id, status)
          shared.set("last", prefix.network .. "@" .. table_id .. ":" .. status)
          return {}
        end
        function adjust(vrid, priority, interface_up)
          if not interface_up then
            return { priority = priority - 50, reason = "interface down" }
          end
          return { reason = "unchanged" }
        end
        "#,
    )]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.observe", "vrrp", "on_install").unwrap();
    rt.attach("test.priority", "vrrp", "adjust").unwrap();

    observe(&rt, &"10.1.0.0/16".parse().unwrap(), 254, "installed").unwrap();
    assert_eq!(
        rt.shared().get("last"),
        Some(SharedValue::from("10.1.0.0/16@254:installed"))
    );

    let mut prio = 120u8;
    let r = priority(&rt, 7, &mut prio, false).unwrap();
    assert_eq!((prio, r.reason.as_str()), (70, "interface down"));
    let r = priority(&rt, 7, &mut prio, true).unwrap();
    assert_eq!((prio, r.reason.as_str()), (70, "unchanged"));
    // 70 - 50 = 20, then -30 does not fit a u8: a decode error, priority unchanged
    priority(&rt, 7, &mut prio, false).unwrap();
    let e = priority(&rt, 7, &mut prio, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(
        e.message(),
        "priority: expected integer in 0..=255 (u8), got -30"
    );
    assert_eq!(prio, 20);
}

#[test]
fn undeclared_result_keys_are_readable_by_name() {
    let dir = script_dir(&[(
        "extra",
        "function f(n) return { n = n * 2, extra = 'x', d = 800 } end",
    )]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "extra", "f").unwrap();
    let mut n = 21;
    let r = counter(&rt, &mut n).unwrap();
    assert_eq!(n, 42);
    assert_eq!(r.get::<i64>("d").unwrap(), Some(800));
    assert_eq!(r.get::<String>("extra").unwrap(), Some("x".to_string()));
    assert_eq!(r.get::<i64>("absent").unwrap(), None);
    assert!(r.get::<i64>("extra").is_err());
}

#[test]
fn chains_run_in_order_and_later_keys_win() {
    let dir = script_dir(&[
        (
            "first",
            "function f(n) return { n = n + 1, tag = 'first', v = 1 } end",
        ),
        (
            "second",
            "function f(n) return { n = n * 10, tag = 'second' } end",
        ),
    ]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "first", "f").unwrap();
    rt.attach("test.counter", "second", "f").unwrap();
    let mut n = 1;
    let r = counter(&rt, &mut n).unwrap();
    assert_eq!(n, 20, "second saw the first's write-back: (1 + 1) * 10");
    assert_eq!(r.tag.as_deref(), Some("second"));
    assert_eq!(r.v, Some(1), "keys only the first returned are kept");
}

#[test]
fn an_error_anywhere_in_a_chain_modifies_nothing() {
    let dir = script_dir(&[
        ("first", "function f(n) return { n = n + 1 } end"),
        ("second", "function f(n) return { n = n * 10 } end"),
        ("third", "function f(n)\n  error('third fails')\nend"),
    ]);
    let rt = Runtime::new(dir.path());
    for s in ["first", "second", "third"] {
        rt.attach("test.counter", s, "f").unwrap();
    }
    let mut n = 1;
    let e = counter(&rt, &mut n).unwrap_err();
    assert_eq!(n, 1);
    assert_eq!(
        (e.kind(), e.script(), e.line()),
        (ErrorKind::Runtime, Some("third"), Some(2))
    );
    assert!(e.to_string().contains("third fails"), "{e}");
}

#[test]
fn a_bad_result_fails_the_chain_where_it_was_returned() {
    let dir = script_dir(&[
        ("first", "function f(n) return { n = n + 1, tag = 42 } end"),
        (
            "second",
            "function f(n)\n  return { n = n * 10, tag = 'fine' }\nend",
        ),
    ]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "first", "f").unwrap();
    rt.attach("test.counter", "second", "f").unwrap();
    let mut n = 1;
    let e = counter(&rt, &mut n).unwrap_err();
    assert_eq!(n, 1, "the first function's write-back was undone");
    assert_eq!(
        (e.kind(), e.script(), e.function()),
        (ErrorKind::Decode, Some("first"), Some("f"))
    );
    assert_eq!(e.message(), "tag: expected string, got integer (42)");
}

#[test]
fn attach_errors_happen_at_attach_time() {
    let dir = script_dir(&[
        ("ok", "function f(n) return {} end"),
        ("broken", "function f(n)\n  return {\nend\n"),
    ]);
    let rt = Runtime::new(dir.path());
    let e = rt.attach("test.no_such_hook", "ok", "f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownHook);
    let e = rt.attach("test.countr", "ok", "f").unwrap_err();
    assert!(e.message().contains("did you mean `test.counter`"), "{e}");
    let e = rt.attach("test.counter", "missing", "f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    let e = rt.attach("test.counter", "ok", "g").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingFunction);
    let e = rt.attach("test.counter", "broken", "f").unwrap_err();
    assert_eq!((e.kind(), e.line()), (ErrorKind::Syntax, Some(3)), "{e}");
    let e = rt.attach("test.counter", "../etc/passwd", "f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(rt.attachments().is_empty());
    rt.attach("test.counter", "ok", "f").unwrap();
    let e = rt.attach("test.counter", "ok", "f").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "attaching twice is refused");
}

#[test]
fn attachments_from_toml_are_all_or_nothing() {
    let dir = script_dir(&[("a", "function f(n) return { n = n + 1 } end")]);
    let rt = Runtime::new(dir.path());
    let bad = r#"
        [[attach]]
        hook = "test.counter"
        script = "a"
        function = "f"

        [[attach]]
        hook = "test.counter"
        script = "a"
        function = "nope"
    "#;
    let e = rt.attach_toml(bad).unwrap_err();
    assert!(e.to_string().contains("attach entry 2"), "{e}");
    assert!(rt.attachments().is_empty());
    let n = rt
        .attach_toml("[[attach]]\nhook = \"test.counter\"\nscript = \"a\"\nfunction = \"f\"\n")
        .unwrap();
    assert_eq!(n, 1);
    let e = rt.attach_toml("[[attach]]\nhook = 1\n").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let e = rt
        .attach_toml("[[attach]]\nhook = \"test.counter\"\nscript = \"a\"\nfunction = \"f\"\nscirpt = \"x\"\n")
        .unwrap_err();
    assert!(e.message().contains("unknown field `scirpt`"), "{e}");
}

#[test]
fn detach_removes_and_the_gate_closes() {
    let dir = script_dir(&[("a", "function f(n) return { n = n + 1 } end")]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "a", "f").unwrap();
    let mut n = 0;
    counter(&rt, &mut n).unwrap();
    rt.detach("test.counter", "a", "f").unwrap();
    counter(&rt, &mut n).unwrap();
    assert_eq!(n, 1);
    assert!(rt.detach("test.counter", "a", "f").is_err());
}

#[test]
fn stats_are_exact() {
    let dir = script_dir(&[(
        "s",
        "function f(n)\n  if n % 4 == 0 then error('four') end\n  return { n = n }\nend\nfunction g(n) return {} end\n",
    )]);
    let rt = Runtime::builder()
        .script_dir(dir.path())
        .timing(true)
        .build();
    rt.attach("test.counter", "s", "f").unwrap();
    rt.attach("test.counter", "s", "g").unwrap();
    for i in 0..100 {
        let mut n = i;
        let _ = counter(&rt, &mut n);
    }
    let s = rt.hook_stats("test.counter").unwrap();
    assert_eq!(s.stats.calls, 100);
    assert_eq!(s.stats.errors_of(ErrorKind::Runtime), 25);
    assert_eq!(s.attachments.len(), 2);
    assert_eq!(
        (
            s.attachments[0].function.as_str(),
            s.attachments[0].stats.calls,
            s.attachments[0].stats.error_count()
        ),
        ("f", 100, 25)
    );
    assert_eq!(
        (
            s.attachments[1].function.as_str(),
            s.attachments[1].stats.calls
        ),
        ("g", 75),
        "g runs only when f succeeded"
    );
    let t = s.stats.run_time.unwrap();
    assert_eq!(t.histogram.iter().sum::<u64>(), 100);
    assert!(t.max <= t.total);
}

#[test]
fn shared_store_is_common_to_threads_and_scripts() {
    let dir = script_dir(&[
        ("a", "function f(n) return { n = shared.incr('hits') } end"),
        (
            "b",
            "function f(n) local v = shared.get('hits') or 0; return { v = v } end",
        ),
    ]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "a", "f").unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let rt = rt.clone();
            s.spawn(move || {
                for _ in 0..500 {
                    let mut n = 0;
                    counter(&rt, &mut n).unwrap();
                }
            });
        }
    });
    assert_eq!(rt.shared().get("hits"), Some(SharedValue::Integer(1000)));
    rt.detach_all("test.counter");
    rt.attach("test.counter", "b", "f").unwrap();
    let mut n = 0;
    assert_eq!(
        counter(&rt, &mut n).unwrap().v,
        Some(1000),
        "another script sees it"
    );
    assert!(rt.shared().cas(
        "hits",
        Some(&SharedValue::Integer(1000)),
        Some(SharedValue::Integer(5))
    ));
    assert_eq!(
        counter(&rt, &mut n).unwrap().v,
        Some(5),
        "Rust writes are visible to scripts"
    );
}

#[test]
fn two_runtimes_side_by_side_do_not_see_each_other() {
    let d1 = script_dir(&[("p", "function f(n) return { n = 1 } end")]);
    let d2 = script_dir(&[
        ("p", "function f(n) return { n = 2 } end"),
        ("only2", "function f(n) return {} end"),
    ]);
    let rt1 = Runtime::new(d1.path());
    let rt2 = Runtime::new(d2.path());
    rt1.attach("test.counter", "p", "f").unwrap();
    rt2.attach("test.counter", "p", "f").unwrap();
    let (mut a, mut b) = (0, 0);
    counter(&rt1, &mut a).unwrap();
    counter(&rt2, &mut b).unwrap();
    assert_eq!((a, b), (1, 2));
    assert!(rt1.attach("test.counter", "only2", "f").is_err());
    rt2.shared().set("k", Some(SharedValue::Integer(1)));
    assert_eq!(rt1.shared().get("k"), None);
    assert_eq!(rt1.hook_stats("test.counter").unwrap().stats.calls, 1);
    drop(rt2);
    counter(&rt1, &mut a).unwrap();
    assert_eq!(rt1.hook_stats("test.counter").unwrap().stats.calls, 2);
}

#[test]
fn failed_reload_keeps_the_old_code() {
    let dir = script_dir(&[("r", "function f(n) return { v = 1 } end")]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "r", "f").unwrap();
    let mut n = 0;
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
    std::fs::write(dir.path().join("r.lua"), "function f(n) return { v = 2 ").unwrap();
    let e = rt.reload("r").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(1));
    std::fs::write(
        dir.path().join("r.lua"),
        "function g(n) return { v = 3 } end",
    )
    .unwrap();
    let e = rt.reload("r").unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::MissingFunction,
        "an attached function vanished"
    );
    std::fs::write(
        dir.path().join("r.lua"),
        "function f(n) return { v = 2 } end",
    )
    .unwrap();
    let g = rt.generation();
    rt.reload("r").unwrap();
    assert!(rt.generation() > g);
    assert_eq!(counter(&rt, &mut n).unwrap().v, Some(2));
    assert!(rt.reload_all().is_empty());
}

#[test]
fn reload_under_load_fails_no_call_and_never_mixes_versions() {
    const V1: &str = "function f(n) return { v = 1, w = 1 } end";
    const V2: &str = "function f(n) return { v = 2, w = 2 } end";
    let rt = Runtime::new(".");
    rt.add_script("flip", V1).unwrap();
    rt.attach("test.counter", "flip", "f").unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (calls, seen) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let rt = rt.clone();
                let stop = &stop;
                s.spawn(move || {
                    let (mut calls, mut seen) = (0u64, [0u64; 2]);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let mut n = 0;
                        let r = counter(&rt, &mut n).expect("no call fails during reloads");
                        let (v, w) = (r.v.unwrap(), r.w.unwrap());
                        assert_eq!(v, w, "every result comes from exactly one version");
                        seen[(v - 1) as usize] += 1;
                        calls += 1;
                    }
                    (calls, seen)
                })
            })
            .collect();
        for i in 0..200 {
            rt.reload_source("flip", if i % 2 == 0 { V2 } else { V1 })
                .unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0, [0, 0]), |(c, s), (c2, s2)| {
                (c + c2, [s[0] + s2[0], s[1] + s2[1]])
            })
    });
    assert!(calls > 0);
    assert_eq!(seen[0] + seen[1], calls);
    let stats = rt.hook_stats("test.counter").unwrap();
    assert_eq!(stats.stats.error_count(), 0);
}
