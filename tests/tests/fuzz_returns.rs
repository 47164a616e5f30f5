//! Property test: a script returning arbitrary Lua values, written as Lua *source*,
//! into every codec path of a hook (write-backs and declared results). The call never
//! panics, and when it fails no argument has changed.
//!
//! Each case builds a table constructor from a random tree of expressions (every scalar
//! type, NaN, ±inf, extreme integers, invalid UTF-8, prefix-looking strings, nested and
//! cyclic tables, tables with metatables, functions, coroutines), attaches it through a
//! reload, and calls the hook. Cases: proptest's default (256), or `PROPTEST_CASES`.

use std::sync::atomic::{AtomicU64, Ordering};

use frrhook::Runtime;
use proptest::prelude::*;

#[path = "support/fuzz_harness.rs"]
mod harness;

use harness::{Args, Change, KEYS, LEAVES, Outcome, call, check, runtime};

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(LEAVES).prop_map(str::to_string),
        any::<i64>().prop_map(|n| format!("({n})")),
        any::<f64>().prop_map(|x| format!("({x:?})")
            .replace("inf", "1/0")
            .replace("NaN", "0/0")),
        "[a-z0-9:./ ]{0,12}".prop_map(|s| format!("{s:?}")),
    ]
}

/// A Lua expression: a leaf or a table constructor of expressions.
fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            proptest::sample::select(KEYS).prop_map(|k| k.to_string()),
            inner.clone().prop_map(|e| format!("[{e}]")),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("{{{}}}", items.join(", "))),
            proptest::collection::vec((key, inner.clone()), 0..6).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| {
                        if k.starts_with('[') {
                            // `[nil] = x` and `[0/0] = x` raise in Lua; keep them, the
                            // call must fail cleanly then.
                            format!("{k} = {v}")
                        } else {
                            format!("{k} = {v}")
                        }
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }),
            (inner.clone(), 1..40usize).prop_map(|(e, n)| format!("{{{}}}", vec![e; n].join(", "))),
        ]
    })
}

/// The returned table: some keys of the hook, with arbitrary values.
fn returned() -> impl Strategy<Value = String> {
    proptest::collection::vec((proptest::sample::select(KEYS), expr()), 0..8).prop_map(|fields| {
        let fields: Vec<String> = fields
            .into_iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        harness::script(&fields)
    })
}

static CASES: AtomicU64 = AtomicU64::new(0);
static FAILED_CALLS: AtomicU64 = AtomicU64::new(0);
static FAILED_LOADS: AtomicU64 = AtomicU64::new(0);

proptest! {
    #[test]
    fn arbitrary_returns_never_panic_and_failures_change_nothing(source in returned()) {
        thread_local! {
            static RT: Runtime = runtime();
        }
        CASES.fetch_add(1, Ordering::Relaxed);
        let outcome = RT.with(|rt| check(rt, &source));
        match outcome {
            Ok(Outcome::DidNotLoad) => {
                FAILED_LOADS.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Failed) => {
                FAILED_CALLS.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Called) => {}
            Err(broken) => prop_assert!(false, "{}", broken),
        }
    }
}

/// Checks the fixtures, and prints how many property cases ran in this process (run
/// `cargo test --test fuzz_returns -- --nocapture --test-threads=1`: the property test
/// sorts first, so it has run by then).
#[test]
fn fixtures_round_trip() {
    let rt = runtime();
    rt.reload_source(
        "fuzz",
        r#"function f(i, u, fl, s, v, m, o, p, rec, kind, change)
             return { i = i, u = u, f = fl, s = s, v = v, m = m, o = o, p = p, rec = rec,
                      kind = kind, change = change, r_t = { 1, "x" },
                      r_change = { type = "Prepend", asn = 1 } }
           end"#,
    )
    .unwrap();
    let mut a = Args::sample();
    let before = a.clone();
    let r = call(&rt, &mut a).unwrap();
    assert!(a.same(&before));
    assert_eq!(r.r_t, Some((1, "x".to_string())));
    assert_eq!(
        r.r_change,
        Some(Change::Prepend {
            asn: 1,
            times: None
        })
    );
    eprintln!(
        "fuzz_returns: {} cases so far in this process: {} did not load, {} calls failed",
        CASES.load(Ordering::Relaxed),
        FAILED_LOADS.load(Ordering::Relaxed),
        FAILED_CALLS.load(Ordering::Relaxed)
    );
}
