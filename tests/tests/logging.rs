//! What the docs say is logged, and where: a failed reload once (target
//! `frrhook::reload`), a failing `on_error = defaults` hook (target `frrhook::call`), and
//! scripts' `log.*` calls (target `frrhook::script`, with the script's name).

use std::io::Write;
use std::sync::{Arc, Mutex};

use frrhook::Runtime;
use frrhook_tests::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture(f: impl FnOnce()) -> String {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn a_failed_reload_is_logged_once_and_a_good_one_not_at_all() {
    let rt = Runtime::new(".");
    rt.add_script("r", "function f(n) return {} end").unwrap();
    rt.attach("test.counter", "r", "f").unwrap();
    let logs = capture(|| {
        assert!(rt.reload_source("r", "function f(n) return { end").is_err());
        rt.reload_source("r", "function f(n) return { v = 1 } end")
            .unwrap();
    });
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("frrhook::reload"))
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(
        lines[0].contains("ERROR") && lines[0].contains("script=\"r\""),
        "{logs}"
    );
}

#[test]
fn fail_open_hooks_log_the_error_and_scripts_log_with_their_name() {
    let rt = Runtime::new(".");
    rt.add_script(
        "p",
        "function f(p, a, peer) log.info('seen', p.network) error('boom') end",
    )
    .unwrap();
    rt.attach("test.route_match_open", "p", "f").unwrap();
    let (prefix, mut attrs, peer) = sample_route();
    let logs = capture(|| {
        let r = route_match_open(&rt, &prefix, &mut attrs, &peer).unwrap();
        assert!(r.action.is_none());
        // A script failing on every route is logged at most once per second, not once
        // per call; every failure still counts in the stats.
        for _ in 0..1000 {
            route_match_open(&rt, &prefix, &mut attrs, &peer).unwrap();
        }
    });
    let warnings = logs
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("frrhook::call"))
        .count();
    assert!((1..=2).contains(&warnings), "{warnings} warnings: {logs}");
    let stats = rt.hook_stats("test.route_match_open").unwrap().stats;
    assert_eq!((stats.calls, stats.error_count()), (1001, 1001));
    assert!(
        logs.lines().any(|l| l.contains("frrhook::script")
            && l.contains("script=p")
            && l.contains("seen 10.0.0.0/24")),
        "{logs}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("frrhook::call") && l.contains("boom")),
        "{logs}"
    );
}
