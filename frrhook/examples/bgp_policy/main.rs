//! `bgp_policy`: a demo BGP daemon that runs a real RIB through Lua policy hooks.
//!
//! ```text
//! cargo run --release --example bgp_policy                  # the shipped sample
//! cargo run --release --example bgp_policy -- --json --threads 2
//! cargo run --release --example bgp_policy -- --rib FILE.bz2 --script my_policy.lua
//! ```
//!
//! It reads an MRT RIB dump, runs every route through `bgp.route_match` (FRR's
//! route-map `match script` contract) with the script in `examples/scripts/`, applies
//! the verdicts, reports each installed route to `zebra.on_rib_process_dplane_results`,
//! lets `vrrp.priority` adjust a VRRP priority from the result, and prints a summary.

mod daemon;
mod hooks;
mod mrt;
mod policy;
mod route;
mod summary;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A demo BGP daemon: runs a real RIB through Lua policy hooks.
#[derive(Debug, Parser)]
#[command(name = "bgp_policy", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The daemon's subcommands. Running without one is `run`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a RIB through the policy hooks and print a summary (the default).
    // Named `daemon`: `run` is frrhook::cli's fixture runner (`run HOOK --fixture ..`).
    #[command(name = "daemon")]
    Run(RunArgs),
    /// Tools for script authors (frrhook::cli): hooks, check, run, stubs, shadow.
    #[command(flatten)]
    Tool(frrhook::cli::Command),
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// MRT RIB dump to read: TABLE_DUMP_V2 or TABLE_DUMP, bzip2 or plain.
    /// Default: the shipped sample (examples/data/).
    #[arg(long, value_name = "PATH")]
    rib: Option<PathBuf>,
    /// A route-map script: its `route_match` function replaces the shipped one on
    /// `bgp.route_match`.
    #[arg(long, value_name = "PATH")]
    script: Option<PathBuf>,
    /// Attachment file (TOML `[[attach]]` entries, resolved in examples/scripts/).
    #[arg(long, value_name = "PATH")]
    attach: Option<PathBuf>,
    /// Threads calling the hooks; the routes are split between them.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bars (they are only shown on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
}

impl RunArgs {
    fn options(&self) -> daemon::Options {
        let mut opts = daemon::Options::default();
        if let Some(rib) = &self.rib {
            opts.rib = rib.clone();
        }
        if let Some(attach) = &self.attach {
            opts.attach = attach.clone();
        }
        opts.script = self.script.clone();
        opts.threads = usize::from(self.threads);
        opts.progress = !self.no_progress;
        opts
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(&args),
        Some(Command::Tool(cmd)) => tools::run(&cli.run.options(), &cmd),
    }
}

fn run(args: &RunArgs) -> ExitCode {
    match daemon::run(&args.options()) {
        Ok(report) => {
            if args.json {
                println!("{}", report.summary.to_json());
            } else {
                print!("{}", report.summary.to_text(&report.details));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bgp_policy: error: {e}");
            ExitCode::FAILURE
        }
    }
}
