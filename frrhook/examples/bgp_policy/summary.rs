//! The end-of-run summary: for people (a table) and for programs (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use frrhook::{HookStats, Stats};
use serde::Serialize;

use crate::mrt::{Compression, Rib};
use crate::policy::Outcome;
use crate::route::RouteMapAction;

/// What `--json` prints. The keys are part of the demo's interface.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Routes run through `bgp.route_match`.
    pub routes: u64,
    /// Routes per action (`failure`, `nomatch`, `match`, `match_and_change`; `none`
    /// when a script returned no action).
    pub actions: BTreeMap<String, u64>,
    /// Routes whose attributes were changed (`RM_MATCH_AND_CHANGE`).
    pub changed: u64,
    /// Failed hook calls, all hooks together.
    pub errors: u64,
    /// Whether the input ended inside a record.
    pub truncated: bool,
    /// Seconds spent in the hook phase (parsing excluded).
    pub seconds: f64,
    /// Routes per second of the hook phase.
    pub routes_per_sec: f64,
    /// Per-hook stats, from the runtime.
    pub hooks: Vec<HookSummary>,
}

/// Stats of one hook.
#[derive(Debug, Clone, Serialize)]
pub struct HookSummary {
    /// The hook name.
    pub hook: String,
    /// Calls.
    pub calls: u64,
    /// Failed calls by kind (`runtime`, `decode`, `instruction_limit`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Calls stopped by a limit.
    pub limit_stops: u64,
    /// Total run time in nanoseconds (when the runtime times calls).
    pub time_total_ns: Option<u64>,
    /// Mean run time per call in nanoseconds.
    pub time_mean_ns: Option<u64>,
    /// Longest call in nanoseconds.
    pub time_max_ns: Option<u64>,
    /// Each attached function.
    pub attachments: Vec<AttachmentSummary>,
}

/// Stats of one attached function.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentSummary {
    /// `script.lua:function`.
    pub function: String,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
}

/// The VRRP priority decision made after the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Vrrp {
    /// Virtual router id.
    pub vrid: u8,
    /// Priority before the hook.
    pub before: u8,
    /// Priority after it.
    pub after: u8,
    /// The script's reason, or the error.
    pub reason: String,
}

/// Everything the human report shows beyond the JSON summary.
#[derive(Debug, Clone)]
pub struct Details {
    /// The input.
    pub rib: String,
    /// Format and compression.
    pub format: String,
    /// Whole MRT records.
    pub records: u64,
    /// Peers.
    pub peers: usize,
    /// Records skipped because they did not parse.
    pub skipped: Vec<String>,
    /// The truncation, described.
    pub truncation: Option<String>,
    /// Parsing time.
    pub parse_time: Duration,
    /// The route-map outcome.
    pub outcome: Outcome,
    /// The VRRP decision.
    pub vrrp: Vrrp,
}

impl Summary {
    /// Builds the summary from the run's pieces.
    pub fn new(outcome: &Outcome, truncated: bool, extra_errors: u64, stats: &[HookStats]) -> Self {
        let mut actions: BTreeMap<String, u64> = RouteMapAction::ALL
            .iter()
            .map(|a| {
                (
                    a.name().to_string(),
                    outcome.actions.get(a).copied().unwrap_or(0),
                )
            })
            .collect();
        if outcome.no_action > 0 {
            actions.insert("none".into(), outcome.no_action);
        }
        Summary {
            routes: outcome.routes,
            actions,
            changed: outcome.changed,
            errors: outcome.route_match_errors + outcome.observe_errors + extra_errors,
            truncated,
            seconds: outcome.elapsed.as_secs_f64(),
            routes_per_sec: outcome.routes_per_sec(),
            hooks: stats.iter().map(hook_summary).collect(),
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the summary serializes")
    }

    /// The report for people.
    pub fn to_text(&self, d: &Details) -> String {
        let mut s = String::new();
        let o = &d.outcome;
        let _ = writeln!(s, "input      {} ({})", d.rib, d.format);
        let _ = writeln!(
            s,
            "           {} MRT records, {} routes from {} peers, parsed in {:.2} s",
            d.records,
            self.routes,
            d.peers,
            d.parse_time.as_secs_f64()
        );
        match &d.truncation {
            Some(t) => {
                let _ = writeln!(s, "truncated  yes: {t}");
                let _ = writeln!(s, "           every whole record before it was processed");
            }
            None => {
                let _ = writeln!(s, "truncated  no");
            }
        }
        if !d.skipped.is_empty() {
            let _ = writeln!(
                s,
                "skipped    {} records that did not parse:",
                d.skipped.len()
            );
            for r in d.skipped.iter().take(3) {
                let _ = writeln!(s, "           {r}");
            }
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "routes     {}  ({} accepted, {} denied)",
            self.routes, o.accepted, o.denied
        );
        for (name, n) in &self.actions {
            let _ = writeln!(
                s,
                "  {name:<18} {n:>9}  {:>5.1} %",
                percent(*n, self.routes)
            );
        }
        let _ = writeln!(s, "changed    {}", self.changed);
        let _ = writeln!(s, "errors     {}", self.errors);
        for e in &o.first_errors {
            let _ = writeln!(s, "           {e}");
        }
        let _ = writeln!(
            s,
            "hooks      {:.3} s on {} thread{} = {:.0} routes/s (parsing excluded)",
            self.seconds,
            o.threads,
            if o.threads == 1 { "" } else { "s" },
            self.routes_per_sec
        );
        let v = &d.vrrp;
        let _ = writeln!(
            s,
            "vrrp       vrid {} priority {} -> {}{}",
            v.vrid,
            v.before,
            v.after,
            if v.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.reason)
            }
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<44} {:>9} {:>7} {:>6} {:>9} {:>9}",
            "hook / attached function", "calls", "errors", "limit", "mean", "max"
        );
        for h in &self.hooks {
            let _ = writeln!(
                s,
                "{:<44} {:>9} {:>7} {:>6} {:>9} {:>9}",
                h.hook,
                h.calls,
                h.errors.values().sum::<u64>(),
                h.limit_stops,
                h.time_mean_ns.map_or("-".into(), ns),
                h.time_max_ns.map_or("-".into(), ns),
            );
            for a in &h.attachments {
                let _ = writeln!(s, "  {:<42} {:>9} {:>7}", a.function, a.calls, a.errors);
            }
        }
        s
    }
}

impl Details {
    /// The parts of the report that come from the input.
    pub fn from_rib(rib: &Rib, parse_time: Duration, outcome: Outcome, vrrp: Vrrp) -> Self {
        let compression = match rib.compression {
            Compression::Bzip2 => "bzip2",
            Compression::None => "uncompressed",
        };
        Details {
            rib: rib.path.display().to_string(),
            format: format!("MRT {}, {compression}", rib.format),
            records: rib.records,
            peers: rib.peers.len(),
            skipped: rib.skipped.clone(),
            truncation: rib.truncated.as_ref().map(ToString::to_string),
            parse_time,
            outcome,
            vrrp,
        }
    }
}

fn hook_summary(h: &HookStats) -> HookSummary {
    let time = |s: &Stats| s.run_time.as_ref().map(|t| t.total.as_nanos() as u64);
    let run = h.stats.run_time.as_ref();
    HookSummary {
        hook: h.hook.clone(),
        calls: h.stats.calls,
        errors: h
            .stats
            .errors
            .iter()
            .map(|(k, n)| (k.as_str().to_string(), *n))
            .collect(),
        limit_stops: h.stats.limit_stops(),
        time_total_ns: time(&h.stats),
        time_mean_ns: run
            .filter(|_| h.stats.calls > 0)
            .map(|t| (t.total.as_nanos() / u128::from(h.stats.calls)) as u64),
        time_max_ns: run.map(|t| t.max.as_nanos() as u64),
        attachments: h
            .attachments
            .iter()
            .map(|a| AttachmentSummary {
                function: format!("{}.lua:{}", a.script, a.function),
                calls: a.stats.calls,
                errors: a.stats.error_count(),
            })
            .collect(),
    }
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

fn ns(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} ns"),
        1_000..1_000_000 => format!("{:.1} us", n as f64 / 1e3),
        _ => format!("{:.1} ms", n as f64 / 1e6),
    }
}
