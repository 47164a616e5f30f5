//! Tools for script authors and operators, as a clap subcommand set a daemon mounts in
//! its own binary (feature `cli`): list the hooks, show one (or a fixture skeleton for
//! it), check scripts, run a hook on JSON fixtures, write LuaLS stubs, and shadow-run a
//! candidate script.
//!
//! Mounting it takes a few lines:
//!
//! ```no_run
//! use clap::Parser;
//! use frrhook::Runtime;
//!
//! #[derive(Parser)]
//! struct Args {
//!     /// Tools for script authors; without one, the daemon runs.
//!     #[command(subcommand)]
//!     tool: Option<frrhook::cli::Command>,
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let args = Args::parse();
//!     let rt = Runtime::new("/etc/mydaemon/scripts");
//!     // rt.attach_file("/etc/mydaemon/attach.toml") ...
//!     if let Some(cmd) = &args.tool {
//!         return frrhook::cli::Tool::new(&rt).run(cmd);
//!     }
//!     // ... the daemon itself
//!     std::process::ExitCode::SUCCESS
//! }
//! ```
//!
//! `shadow` needs inputs that only the daemon has (its RIB, say): give them with
//! [`Tool::shadow_inputs`]; see [`Shadow`].
//!
//! Exit status: 0 when everything went well; 1 when what was checked failed (a script
//! error, a fixture expectation not met, shadow verdicts that differ, as `diff` does);
//! 2 when the command could not do its job (an unknown hook, an unreadable or malformed
//! file, a fixture value of the wrong type).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::{HookDescriptor, Runtime};

mod check;
mod fixture;
mod globals;
pub mod json;
mod list;
mod shadow;
mod show;
mod stubs;
mod template;

pub use fixture::{Case, Expect, Fixture};
pub use shadow::{Shadow, ShadowDiff, ShadowInput, ShadowReport};

/// Success.
pub const EXIT_OK: u8 = 0;
/// What was checked failed (script errors, unmet expectations, shadow differences).
pub const EXIT_FAILED: u8 = 1;
/// The command could not do its job (unknown hook, bad input file).
pub const EXIT_TROUBLE: u8 = 2;

/// The subcommands. Mount with `#[command(subcommand)] tool: Option<Command>`, or
/// `#[command(flatten)]` into a daemon's own subcommand enum.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// List the hooks of this program, or show one.
    #[command(subcommand)]
    Hooks(HooksCommand),
    /// Compile scripts in the sandbox: syntax errors, undefined globals, attachments.
    Check(CheckArgs),
    /// Call a hook with a script on the cases of a JSON fixture.
    Run(RunArgs),
    /// Write LuaLS annotations (---@class, ---@param) for every hook and type.
    Stubs(StubsArgs),
    /// Run a candidate script beside the attached one on the daemon's inputs.
    Shadow(ShadowArgs),
}

/// `hooks list` and `hooks show`.
#[derive(Debug, Clone, Subcommand)]
pub enum HooksCommand {
    /// Every hook with its summary, attachments, calls and errors.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One hook: doc, arguments, results, types, error policy, attachments, stats.
    Show {
        /// The hook name (`hooks list` shows them).
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A fixture skeleton for `run`: one case with every argument field to fill in.
    Template {
        /// The hook name.
        name: String,
    },
}

/// `check SCRIPT... [--attachments FILE] [--strict]`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Script files (`NAME.lua`).
    #[arg(required = true)]
    pub scripts: Vec<PathBuf>,
    /// An attachment file (TOML `[[attach]]` entries): check that every hook and
    /// function it names exists. Scripts it names are taken from the SCRIPT arguments
    /// (by file name) or else from the daemon's script directory.
    #[arg(long, value_name = "FILE")]
    pub attachments: Option<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// `run HOOK --script FILE [--function NAME] --fixture FILE.json [--json]`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The hook to call.
    pub hook: String,
    /// The script file.
    #[arg(long, value_name = "FILE")]
    pub script: PathBuf,
    /// The Lua function (default: the hook's function name, as `hooks show` prints it).
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// The fixture: `{"cases": [{"name": .., "args": {..}, "expect": {..}}]}`.
    #[arg(long, value_name = "FILE")]
    pub fixture: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `stubs [--out FILE]`.
#[derive(Debug, Clone, Args)]
pub struct StubsArgs {
    /// Write the stubs to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `shadow --candidate FILE [--replaces SCRIPT] [--show N] [--limit N] [--json]`.
#[derive(Debug, Clone, Args)]
pub struct ShadowArgs {
    /// The candidate script.
    #[arg(long, value_name = "FILE")]
    pub candidate: PathBuf,
    /// The attached script the candidate stands in for (default: the only script
    /// attached to the hook).
    #[arg(long, value_name = "SCRIPT")]
    pub replaces: Option<String>,
    /// How many differing inputs to print.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show: usize,
    /// Compare at most N inputs (the first N the daemon gives).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

type Feed<'a> = Box<dyn FnMut(&mut Shadow) -> Result<(), String> + 'a>;

/// Runs a [`Command`] against a daemon's runtime.
pub struct Tool<'a> {
    runtime: &'a Runtime,
    shadow: Option<(&'static HookDescriptor, Feed<'a>)>,
}

impl std::fmt::Debug for Tool<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool")
            .field("runtime", self.runtime)
            .field("shadow", &self.shadow.as_ref().map(|(h, _)| h.name))
            .finish()
    }
}

impl<'a> Tool<'a> {
    /// The tools for `runtime`: its hooks, attachments, stats, script directory,
    /// sandbox and limits.
    pub fn new(runtime: &'a Runtime) -> Self {
        Tool {
            runtime,
            shadow: None,
        }
    }

    /// Gives `shadow` its inputs: `feed` passes each input of `hook` to
    /// [`Shadow::compare`] (an `Err` stops the run with that message).
    #[must_use]
    pub fn shadow_inputs(
        mut self,
        hook: &'static HookDescriptor,
        feed: impl FnMut(&mut Shadow) -> Result<(), String> + 'a,
    ) -> Self {
        self.shadow = Some((hook, Box::new(feed)));
        self
    }

    /// Runs `cmd`, printing to standard output and standard error.
    pub fn run(self, cmd: &Command) -> ExitCode {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let code = self.run_to(cmd, &mut stdout.lock(), &mut stderr.lock());
        ExitCode::from(code)
    }

    /// Runs `cmd`, printing to `out` (results) and `err` (errors and warnings); returns
    /// the exit status.
    pub fn run_to(self, cmd: &Command, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
        let mut io = Io { out, err };
        let r = match cmd {
            Command::Hooks(HooksCommand::List { json }) => list::run(self.runtime, *json, &mut io),
            Command::Hooks(HooksCommand::Show { name, json }) => {
                show::run(self.runtime, name, *json, &mut io)
            }
            Command::Hooks(HooksCommand::Template { name }) => {
                template::run(self.runtime, name, &mut io)
            }
            Command::Check(args) => check::run(self.runtime, args, &mut io),
            Command::Run(args) => fixture::run(self.runtime, args, &mut io),
            Command::Stubs(args) => stubs::run(self.runtime, args, &mut io),
            Command::Shadow(args) => shadow::run(self.runtime, self.shadow, args, &mut io),
        };
        match r {
            Ok(code) => code,
            Err(Trouble(msg)) => {
                let _ = writeln!(io.err, "error: {msg}");
                EXIT_TROUBLE
            }
        }
    }
}

/// Runs `cmd` against `runtime` (no shadow inputs), printing to standard output.
pub fn run(cmd: &Command, runtime: &Runtime) -> ExitCode {
    Tool::new(runtime).run(cmd)
}

/// Where a command prints.
pub(crate) struct Io<'w> {
    pub(crate) out: &'w mut dyn Write,
    pub(crate) err: &'w mut dyn Write,
}

/// A command that could not do its job: the message, printed as `error: ...`.
#[derive(Debug)]
pub(crate) struct Trouble(pub(crate) String);

impl From<std::io::Error> for Trouble {
    fn from(e: std::io::Error) -> Self {
        Trouble(format!("cannot write output: {e}"))
    }
}

pub(crate) type CmdResult = Result<u8, Trouble>;

/// Finds a hook of the runtime's catalogue by name, or says which names are close.
pub(crate) fn find_hook(rt: &Runtime, name: &str) -> Result<crate::HookInfo, Trouble> {
    let hooks = rt.hooks();
    if let Some(h) = hooks.iter().find(|h| h.name() == name) {
        return Ok(h.clone());
    }
    let close = crate::registry::suggest(name, hooks.iter().map(|h| h.name()));
    let mut msg = format!("no hook named `{name}`");
    if !close.is_empty() {
        let list: Vec<String> = close.iter().map(|c| format!("`{c}`")).collect();
        msg.push_str(&format!("; did you mean {}?", list.join(" or ")));
    }
    msg.push_str(" (`hooks list` shows every hook)");
    Err(Trouble(msg))
}

/// The Lua function name of a hook: the last segment of the declaring Rust path.
pub(crate) fn function_name(d: &HookDescriptor) -> &'static str {
    d.rust_path.rsplit("::").next().unwrap_or(d.rust_path)
}

/// A runtime with `rt`'s script directory, sandbox, limits and timing, and nothing
/// compiled or attached (and its own shared store).
pub(crate) fn scratch_like(rt: &Runtime) -> Runtime {
    let c = &rt.inner.config;
    let mut b = Runtime::builder()
        .script_dir(&c.script_dir)
        .sandbox(c.sandbox.clone())
        .limits(c.limits)
        .timing(c.timing);
    for (hook, limits) in &c.hook_limits {
        b = b.hook_limits(hook.clone(), *limits);
    }
    b.build()
}

/// The script name of a file: its stem (`scripts/policy.lua` is `policy`).
pub(crate) fn script_name(path: &std::path::Path) -> Result<String, Trouble> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| Trouble(format!("{}: not a script file name", path.display())))?;
    crate::loader::check_name(stem)
        .map_err(|e| Trouble(format!("{}: {}", path.display(), e.message())))?;
    Ok(stem.to_string())
}

/// Reads a file, or says which and why not.
pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>, Trouble> {
    std::fs::read(path).map_err(|e| Trouble(format!("cannot read {}: {e}", path.display())))
}
