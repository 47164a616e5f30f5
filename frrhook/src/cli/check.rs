//! `check SCRIPT... [--attachments FILE] [--strict]`: compiles each script in the
//! runtime's sandbox (its top level runs, under the runtime's limits), reports syntax and
//! top-level errors with file and line, warns about globals the script reads that
//! neither the sandbox nor the script defines (see [`super::globals`]), and checks that
//! every hook and function an attachment file names exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mlua::Value;

use super::globals::{self, GlobalRead};
use super::{CheckArgs, CmdResult, EXIT_FAILED, EXIT_OK, Io, Trouble, find_hook, script_name};
use crate::sandbox::SandboxedLua;
use crate::shared::SharedStore;
use crate::{AttachSpec, ErrorKind, HookError, Runtime, loader};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachFile {
    #[serde(default)]
    attach: Vec<AttachSpec>,
}

/// A script that compiled: what its environment holds after the top level ran.
struct Compiled {
    path: PathBuf,
    /// Global names defined after the top level, with whether each is a function.
    defined: BTreeMap<String, bool>,
}

impl Compiled {
    fn functions(&self) -> Vec<&str> {
        self.defined
            .iter()
            .filter(|(_, f)| **f)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

#[derive(Default)]
struct Counts {
    errors: usize,
    warnings: usize,
}

pub(crate) fn run(rt: &Runtime, args: &CheckArgs, io: &mut Io<'_>) -> CmdResult {
    let state = SandboxedLua::new(rt.sandbox())
        .map_err(|e| Trouble(format!("cannot create a Lua state: {e}")))?;
    let sandbox = env_keys(
        &state
            .make_env("check", &SharedStore::default())
            .map_err(|e| Trouble(format!("cannot build the sandbox environment: {e}")))?,
    );
    let mut counts = Counts::default();
    let mut compiled: BTreeMap<String, Compiled> = BTreeMap::new();
    for path in &args.scripts {
        if let Some(c) = check_script(rt, &state, &sandbox, path, &mut counts, io)? {
            let name = script_name(path).unwrap_or_default();
            compiled.insert(name, c);
        }
    }
    let mut files = 0;
    if let Some(file) = &args.attachments {
        files = 1;
        check_attachments(rt, &state, file, &compiled, &mut counts, io)?;
    }
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut checked = plural(args.scripts.len(), "script");
    if files > 0 {
        checked.push_str(", 1 attachment file");
    }
    writeln!(
        io.out,
        "checked {checked}: {}, {}",
        plural(counts.errors, "error"),
        plural(counts.warnings, "warning")
    )?;
    let failed = counts.errors > 0 || (args.strict && counts.warnings > 0);
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}

fn env_keys(env: &mlua::Table) -> BTreeMap<String, bool> {
    env.pairs::<Value, Value>()
        .filter_map(Result::ok)
        .filter_map(|(k, v)| match k {
            Value::String(s) => Some((
                String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                matches!(v, Value::Function(_)),
            )),
            _ => None,
        })
        .collect()
}

/// What a script's environment holds beyond the sandbox's own globals (unless the
/// script replaced one of them).
fn script_defined(env: &mlua::Table, sandbox: &BTreeMap<String, bool>) -> BTreeMap<String, bool> {
    env_keys(env)
        .into_iter()
        .filter(|(k, f)| k != "_G" && sandbox.get(k) != Some(f))
        .collect()
}

fn phrase(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Syntax => "syntax error",
        ErrorKind::InstructionLimit => "instruction limit exceeded at top level",
        ErrorKind::Deadline => "deadline exceeded at top level",
        ErrorKind::Memory => "memory limit exceeded at top level",
        _ => "error at top level",
    }
}

/// `path:line: syntax error: message`.
fn located(path: &Path, e: &HookError) -> String {
    match e.line() {
        Some(l) => format!(
            "{}:{l}: {}: {}",
            path.display(),
            phrase(e.kind()),
            e.message()
        ),
        None => format!("{}: {}: {}", path.display(), phrase(e.kind()), e.message()),
    }
}

fn check_script(
    rt: &Runtime,
    state: &SandboxedLua,
    sandbox: &BTreeMap<String, bool>,
    path: &Path,
    counts: &mut Counts,
    io: &mut Io<'_>,
) -> Result<Option<Compiled>, Trouble> {
    let source = match std::fs::read(path) {
        Ok(s) => s,
        Err(e) => {
            counts.errors += 1;
            writeln!(io.out, "{}: error: cannot read: {e}", path.display())?;
            return Ok(None);
        }
    };
    let name = match script_name(path) {
        Ok(n) => n,
        Err(Trouble(msg)) => {
            counts.errors += 1;
            writeln!(io.out, "error: {msg}")?;
            return Ok(None);
        }
    };
    let env = match loader::instantiate(
        state,
        &name,
        &source,
        &SharedStore::default(),
        &rt.inner.config.limits,
    ) {
        Ok(env) => env,
        Err(e) => {
            counts.errors += 1;
            writeln!(io.out, "{}", located(path, &e))?;
            return Ok(None);
        }
    };
    let c = Compiled {
        path: path.to_path_buf(),
        defined: script_defined(&env, sandbox),
    };
    match globals::scan(&String::from_utf8_lossy(&source)) {
        Ok(g) => {
            let defined = |n: &str| {
                sandbox.contains_key(n) || c.defined.contains_key(n) || g.writes.contains(n)
            };
            let mut seen = BTreeSet::new();
            for r in &g.reads {
                if defined(&r.name) || !seen.insert((r.name.clone(), r.function.clone())) {
                    continue;
                }
                counts.warnings += 1;
                writeln!(io.out, "{}", undefined_warning(path, r, sandbox))?;
            }
        }
        Err(e) => writeln!(
            io.out,
            "{}: note: the analysis of global reads was skipped: {e}",
            path.display()
        )?,
    }
    let functions = c.functions();
    let listed = if functions.is_empty() {
        "no functions".to_string()
    } else {
        format!("functions: {}", functions.join(", "))
    };
    writeln!(io.out, "{}: ok ({listed})", path.display())?;
    Ok(Some(c))
}

/// Standard globals the sandbox removes unless the operator opens them.
const LEFT_OUT: [&str; 11] = [
    "os",
    "io",
    "debug",
    "package",
    "require",
    "load",
    "loadstring",
    "loadfile",
    "dofile",
    "collectgarbage",
    "module",
];

fn undefined_warning(path: &Path, r: &GlobalRead, sandbox: &BTreeMap<String, bool>) -> String {
    let who = match &r.function {
        Some(f) => format!("function `{f}`"),
        None => "the top level".to_string(),
    };
    let mut msg = format!(
        "{}:{}: warning: {who} reads global `{}`, which neither the sandbox nor the script defines",
        path.display(),
        r.line,
        r.name
    );
    let close = crate::registry::suggest(&r.name, sandbox.keys().map(String::as_str));
    if LEFT_OUT.contains(&r.name.as_str()) {
        msg.push_str(" (the sandbox leaves it out on purpose)");
    } else if let Some(c) = close.first().filter(|_| r.name.len() > 3) {
        msg.push_str(&format!(" (did you mean `{c}`?)"));
    }
    msg
}

fn check_attachments(
    rt: &Runtime,
    state: &SandboxedLua,
    file: &Path,
    compiled: &BTreeMap<String, Compiled>,
    counts: &mut Counts,
    io: &mut Io<'_>,
) -> Result<(), Trouble> {
    let text = String::from_utf8(super::read(file)?)
        .map_err(|_| Trouble(format!("{}: not UTF-8", file.display())))?;
    let parsed: AttachFile = match toml::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            counts.errors += 1;
            writeln!(
                io.out,
                "{}: error: not an attachment file: {}",
                file.display(),
                e.message()
            )?;
            return Ok(());
        }
    };
    let mut from_dir: BTreeMap<String, Result<BTreeMap<String, bool>, String>> = BTreeMap::new();
    for (i, spec) in parsed.attach.iter().enumerate() {
        let head = format!(
            "{}: entry {} ({} -> {}.lua: {})",
            file.display(),
            i + 1,
            spec.hook,
            spec.script,
            spec.function
        );
        let problem = match find_hook(rt, &spec.hook) {
            Err(Trouble(msg)) => Some(msg),
            Ok(_) => {
                let defined = match compiled.get(&spec.script) {
                    Some(c) => Ok((c.path.display().to_string(), c.defined.clone())),
                    None => from_dir
                        .entry(spec.script.clone())
                        .or_insert_with(|| compile_from_dir(rt, state, &spec.script))
                        .clone()
                        .map(|d| {
                            let p = loader::script_path(rt.script_dir(), &spec.script);
                            (p.display().to_string(), d)
                        }),
                };
                match defined {
                    Err(msg) => Some(msg),
                    Ok((_, d)) if d.get(&spec.function) == Some(&true) => None,
                    Ok((where_, d)) => {
                        let functions: Vec<&str> = d
                            .iter()
                            .filter(|(_, f)| **f)
                            .map(|(n, _)| n.as_str())
                            .collect();
                        let mut msg =
                            format!("function `{}` is not defined in {where_}", spec.function);
                        let close =
                            crate::registry::suggest(&spec.function, functions.iter().copied());
                        if let Some(c) = close.first() {
                            msg.push_str(&format!("; did you mean `{c}`?"));
                        } else if !functions.is_empty() {
                            msg.push_str(&format!(" (it defines {})", functions.join(", ")));
                        }
                        Some(msg)
                    }
                }
            }
        };
        match problem {
            None => writeln!(io.out, "{head}: ok")?,
            Some(p) => {
                counts.errors += 1;
                writeln!(io.out, "{head}: error: {p}")?;
            }
        }
    }
    if parsed.attach.is_empty() {
        counts.warnings += 1;
        writeln!(io.out, "{}: warning: no [[attach]] entries", file.display())?;
    }
    Ok(())
}

/// Compiles script `name` from the runtime's script directory.
fn compile_from_dir(
    rt: &Runtime,
    state: &SandboxedLua,
    name: &str,
) -> Result<BTreeMap<String, bool>, String> {
    let source = loader::read_source(rt.script_dir(), name).map_err(|e| e.message().to_string())?;
    let sandbox = state
        .make_env("check", &SharedStore::default())
        .map(|e| env_keys(&e))
        .unwrap_or_default();
    loader::instantiate(
        state,
        name,
        &source,
        &SharedStore::default(),
        &rt.inner.config.limits,
    )
    .map(|env| script_defined(&env, &sandbox))
    .map_err(|e| located(&loader::script_path(rt.script_dir(), name), &e))
}
