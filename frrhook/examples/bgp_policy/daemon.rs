//! The daemon's run: read the RIB, set up the hook runtime, run the policy, decide the
//! VRRP priority, and summarize.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use frrhook::Runtime;
use indicatif::{ProgressBar, ProgressStyle};

use crate::hooks::{RouteMatchArgs, Tracking, vrrp_priority};
use crate::mrt;
use crate::policy;
use crate::summary::{Details, Summary, Vrrp};

/// The shipped sample: a real RouteViews table, cut at 1 MiB (see `data/README.md`).
pub const SAMPLE_RIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/rib.20140523.0600_firstMB.bz2"
);
/// The shipped scripts.
pub const SCRIPT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scripts");
/// The shipped attachments (which function runs on which hook).
pub const ATTACH_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scripts/attach.toml");
/// Inputs with fewer routes than this get no progress bar.
const LONG_INPUT: usize = 50_000;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The MRT RIB to read.
    pub rib: PathBuf,
    /// Where `NAME.lua` scripts are read from.
    pub script_dir: PathBuf,
    /// The attachment file (TOML, `[[attach]]` entries).
    pub attach: PathBuf,
    /// A route-map script whose `route_match` replaces the attached one.
    pub script: Option<PathBuf>,
    /// Threads calling the hooks.
    pub threads: usize,
    /// Show progress bars (only ever on a terminal).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rib: PathBuf::from(SAMPLE_RIB),
            script_dir: PathBuf::from(SCRIPT_DIR),
            attach: PathBuf::from(ATTACH_FILE),
            script: None,
            threads: 1,
            progress: true,
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The machine-readable summary.
    pub summary: Summary,
    /// What only the human report shows.
    pub details: Details,
}

/// Builds the runtime: the shipped attachments, then `--script` if given.
pub fn runtime(opts: &Options) -> Result<Runtime, String> {
    let rt = Runtime::builder()
        .script_dir(&opts.script_dir)
        .timing(true)
        .build();
    rt.attach_file(&opts.attach)
        .map_err(|e| format!("{}: {e}", opts.attach.display()))?;
    if let Some(path) = &opts.script {
        let name = script_name(path)?;
        let source =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        rt.detach_all(RouteMatchArgs::hook().name);
        rt.add_script(&name, source)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        rt.attach_hook(RouteMatchArgs::hook(), &name, "route_match")
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(rt)
}

fn script_name(path: &Path) -> Result<String, String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
        .ok_or_else(|| format!("{}: not a script file name", path.display()))
}

/// Runs the whole demo.
pub fn run(opts: &Options) -> Result<Report, String> {
    let rt = runtime(opts)?;
    let show = opts.progress && std::io::stderr().is_terminal();

    // 1. Parse everything first, so that the hook phase is timed alone.
    let file_len = std::fs::metadata(&opts.rib).map(|m| m.len()).unwrap_or(0);
    let bar = if show && file_len > 0 {
        new_bar(file_len, "reading  {bar:40} {bytes}/{total_bytes} {msg}")
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let rib = mrt::read_rib(&opts.rib, &mut |n| bar.set_position(n)).map_err(|e| e.to_string())?;
    let parse_time = started.elapsed();
    bar.finish_and_clear();
    Ok(run_rib(opts, &rt, rib, parse_time))
}

/// The demo after parsing: the policy on every route of `rib`, then the VRRP decision.
pub fn run_rib(opts: &Options, rt: &Runtime, mut rib: mrt::Rib, parse_time: Duration) -> Report {
    let show = opts.progress && std::io::stderr().is_terminal();

    // 2. The route-map on every route, on N threads.
    let bar = if show && rib.routes.len() >= LONG_INPUT {
        new_bar(
            rib.routes.len() as u64,
            "policy   {bar:40} {pos}/{len} routes {per_sec}",
        )
    } else {
        ProgressBar::hidden()
    };
    let outcome = policy::apply(rt, &mut rib.routes, &rib.peers, opts.threads, &|n| {
        bar.inc(n)
    });
    bar.finish_and_clear();

    // 3. The VRRP priority, from what the policy left us with.
    let tracking = Tracking {
        interface: "eth0".into(),
        interface_up: true,
        peers_up: rib.peers.len() as u32,
        routes_accepted: outcome.accepted,
        routes_denied: outcome.denied,
    };
    let before = 100u8;
    let mut priority = before;
    let (reason, vrrp_errors) = match vrrp_priority(rt, 1, &mut priority, &tracking) {
        Ok(r) => (r.reason, 0),
        Err(e) => (format!("error: {e}"), 1),
    };
    let vrrp = Vrrp {
        vrid: 1,
        before,
        after: priority,
        reason,
    };

    let summary = Summary::new(&outcome, rib.truncated.is_some(), vrrp_errors, &rt.stats());
    let details = Details::from_rib(&rib, parse_time, outcome, vrrp);
    Report { summary, details }
}

fn new_bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
