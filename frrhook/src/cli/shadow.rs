//! Shadow runs: a candidate script beside the attached one, on the same inputs, without
//! applying the candidate. It is how an operator tries a policy change safely: how many
//! verdicts would change, how many written-back values, and on which inputs.
//!
//! The daemon owns the inputs (a RIB, say) and feeds them to a [`Shadow`]:
//!
//! ```ignore
//! let mut shadow = Shadow::from_candidate_file(RouteMatchArgs::hook(), &rt, "new.lua".as_ref(), None)?;
//! for r in &rib {
//!     shadow.compare(&r.prefix, (&r.prefix, &r.attributes, &r.peer));
//! }
//! println!("{:?}", shadow.report());
//! ```
//!
//! or, from the CLI, with [`Tool::shadow_inputs`](super::Tool::shadow_inputs).
//!
//! Each input is encoded once, then each side decodes its own copy of the arguments
//! (the daemon's values are never touched) and runs its chain: the active side in a copy
//! of the daemon's runtime with the hook's chain as attached, the candidate side in a
//! copy where the replaced script is swapped for the candidate. Both copies have the
//! daemon's script directory, sandbox and limits, their own stats and each an empty
//! shared store, so a shadow run changes nothing in the daemon. Outcomes are compared as
//! Lua values (results, other returned keys, written-back arguments, whether the call
//! failed); only differing inputs are turned into JSON, for the report.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

use mlua::{Lua, Value};
use serde_json::{Map, Value as Json, json};

use super::json::{Mismatch, compact, differences, from_lua, lua_equal, pretty};
use super::{
    CmdResult, EXIT_FAILED, EXIT_OK, Feed, Io, ShadowArgs, Trouble, function_name, scratch_like,
    script_name,
};
use crate::codec::LuaEncode;
use crate::{DynOutcome, ErrorKind, HookDescriptor, HookError, Runtime};

/// The arguments of one call of a hook, for [`Shadow::compare`]: a tuple of the
/// arguments in order, constants excluded (`(&prefix, &attributes, &peer)`).
pub trait ShadowInput {
    /// The arguments as Lua values of `lua`.
    fn lua_values(&self, lua: &Lua) -> mlua::Result<Vec<Value>>;
}

macro_rules! tuple_input {
    ($($t:ident)+) => {
        impl<$($t: LuaEncode),+> ShadowInput for ($($t,)+) {
            #[allow(non_snake_case)]
            fn lua_values(&self, lua: &Lua) -> mlua::Result<Vec<Value>> {
                let ($($t,)+) = self;
                Ok(vec![$($t.encode(lua)?),+])
            }
        }
    };
}
tuple_input!(A);
tuple_input!(A B);
tuple_input!(A B C);
tuple_input!(A B C D);
tuple_input!(A B C D E);
tuple_input!(A B C D E F);
tuple_input!(A B C D E F G);
tuple_input!(A B C D E F G H);

/// One input whose outcome differs.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowDiff {
    /// The input, as the daemon labelled it.
    pub input: String,
    /// Each difference: `expected` is the active side, `actual` the candidate.
    pub differences: Vec<Mismatch>,
}

/// What a shadow run found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShadowReport {
    /// The hook.
    pub hook: String,
    /// The active chain (`policy.lua: route_match`).
    pub active: Vec<String>,
    /// The candidate chain.
    pub candidate: Vec<String>,
    /// Inputs compared.
    pub inputs: u64,
    /// The most inputs to compare, if limited.
    pub limit: Option<u64>,
    /// Inputs whose verdict differs: a declared result, another returned key, or
    /// whether the call failed.
    pub verdicts_differ: u64,
    /// Inputs where a written-back argument differs.
    pub written_back_differ: u64,
    /// Failed calls on the active side.
    pub active_errors: u64,
    /// Failed calls on the candidate side.
    pub candidate_errors: u64,
    /// Inputs that could not be run (an argument failed to encode or decode).
    pub input_errors: u64,
    /// The first of those errors.
    pub first_input_error: Option<String>,
    /// How verdicts changed (`action: 2 -> 1`), most frequent first.
    pub changes: Vec<(String, u64)>,
    /// The first differing inputs.
    pub examples: Vec<ShadowDiff>,
}

impl ShadowReport {
    /// Inputs where anything differs.
    pub fn differs(&self) -> bool {
        self.verdicts_differ > 0 || self.written_back_differ > 0
    }
}

/// Distinct verdict changes counted one by one; the rest go under one line.
const MAX_CHANGES: usize = 32;
const OTHER_CHANGES: &str = "(other changes)";

/// Runs a candidate beside the active chain of one hook. See the module docs.
pub struct Shadow {
    hook: &'static HookDescriptor,
    active: Runtime,
    candidate: Runtime,
    lua: Lua,
    keep: usize,
    report: ShadowReport,
    changes: BTreeMap<String, u64>,
}

impl std::fmt::Debug for Shadow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow")
            .field("hook", &self.hook.name)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

fn chain_of(rt: &Runtime, hook: &HookDescriptor) -> Vec<String> {
    rt.attachments()
        .into_iter()
        .filter(|a| a.hook == hook.name)
        .map(|a| format!("{}.lua: {}", a.script, a.function))
        .collect()
}

/// A copy of `rt` (configuration and the scripts of `hook`'s chain) with that chain
/// attached, script `swap.0` replaced by `swap.1` (name, source) if given.
fn copy_chain(
    rt: &Runtime,
    hook: &'static HookDescriptor,
    swap: Option<(&str, (&str, &[u8]))>,
) -> Result<Runtime, HookError> {
    let copy = scratch_like(rt);
    let snapshot = rt.inner.snapshot.load_full();
    let chain: Vec<_> = rt
        .attachments()
        .into_iter()
        .filter(|a| a.hook == hook.name)
        .collect();
    for a in &chain {
        let (name, source): (&str, &[u8]) = match swap {
            Some((old, new)) if old == a.script => new,
            _ => match snapshot.scripts.iter().find(|s| *s.name == *a.script) {
                Some(s) => (&a.script, &s.source),
                None => {
                    return Err(HookError::new(
                        ErrorKind::Config,
                        format!("script {}.lua is attached but not compiled", a.script),
                    ));
                }
            },
        };
        if !copy.scripts().iter().any(|s| s == name) {
            copy.add_script(name, source)?;
        }
        copy.attach_hook(hook, name, &a.function)?;
    }
    if chain.is_empty()
        && let Some((_, (name, source))) = swap
    {
        copy.add_script(name, source)?;
        copy.attach_hook(hook, name, function_name(hook))?;
    }
    Ok(copy)
}

impl Shadow {
    /// Compares `hook` as attached in `active` with `hook` as attached in `candidate`
    /// (two runtimes you built; calls are counted in their stats).
    pub fn new(hook: &'static HookDescriptor, active: &Runtime, candidate: &Runtime) -> Shadow {
        Shadow {
            hook,
            active: active.clone(),
            candidate: candidate.clone(),
            lua: Lua::new(),
            keep: 5,
            report: ShadowReport {
                hook: hook.name.to_string(),
                active: chain_of(active, hook),
                candidate: chain_of(candidate, hook),
                ..ShadowReport::default()
            },
            changes: BTreeMap::new(),
        }
    }

    /// Compares `hook`'s chain in `active` with the same chain where script `replaces`
    /// (default: the only script attached to the hook) is the file `candidate`. Both
    /// sides run in copies of `active`, which stays untouched. With nothing attached to
    /// the hook, the candidate's function named like the hook's function is compared
    /// with no script at all (the default results).
    pub fn from_candidate_file(
        hook: &'static HookDescriptor,
        active: &Runtime,
        candidate: &Path,
        replaces: Option<&str>,
    ) -> Result<Shadow, HookError> {
        let name =
            script_name(candidate).map_err(|Trouble(m)| HookError::new(ErrorKind::Config, m))?;
        let source = std::fs::read(candidate).map_err(|e| {
            HookError::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", candidate.display()),
            )
        })?;
        let mut scripts: Vec<String> = active
            .attachments()
            .into_iter()
            .filter(|a| a.hook == hook.name)
            .map(|a| a.script)
            .collect();
        scripts.dedup();
        let replaced = match replaces {
            Some(r) if scripts.iter().any(|s| s == r) => Some(r.to_string()),
            Some(r) => {
                return Err(HookError::new(
                    ErrorKind::Config,
                    format!(
                        "script `{r}` is not attached to `{}` (attached: {})",
                        hook.name,
                        if scripts.is_empty() {
                            "nothing".to_string()
                        } else {
                            scripts.join(", ")
                        }
                    ),
                ));
            }
            None => match scripts.as_slice() {
                [] => None,
                [one] => Some(one.clone()),
                many => {
                    return Err(HookError::new(
                        ErrorKind::Config,
                        format!(
                            "several scripts are attached to `{}` ({}): say which one the candidate replaces with --replaces",
                            hook.name,
                            many.join(", ")
                        ),
                    ));
                }
            },
        };
        if scripts
            .iter()
            .any(|s| *s == name && Some(s) != replaced.as_ref())
        {
            return Err(HookError::new(
                ErrorKind::Config,
                format!(
                    "the candidate's name `{name}` is the name of another script of the chain; rename the file"
                ),
            ));
        }
        let active_copy = copy_chain(active, hook, None)?;
        let old = replaced.clone().unwrap_or_default();
        let candidate_rt = copy_chain(active, hook, Some((&old, (&name, &source))))
            .map_err(|e| locate(e, candidate))?;
        Ok(Shadow::new(hook, &active_copy, &candidate_rt))
    }

    /// How many differing inputs the report keeps (default 5).
    #[must_use]
    pub fn keep(mut self, n: usize) -> Self {
        self.keep = n;
        self
    }

    /// Compares at most `n` inputs; later ones are ignored (see
    /// [`wants_more`](Self::wants_more)).
    #[must_use]
    pub fn limit(mut self, n: u64) -> Self {
        self.report.limit = Some(n);
        self
    }

    /// Whether another input would be compared (false once the limit is reached): a
    /// feed can stop reading its inputs.
    pub fn wants_more(&self) -> bool {
        self.report.limit.is_none_or(|l| self.report.inputs < l)
    }

    /// The state in which [`compare_values`](Self::compare_values) takes its values.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Runs both sides on one input; `input` names it in the report. Returns
    /// [`wants_more`](Self::wants_more).
    pub fn compare(&mut self, input: impl Display, args: impl ShadowInput) -> bool {
        if !self.wants_more() {
            return false;
        }
        match args.lua_values(&self.lua) {
            Ok(values) => self.compare_values(input, &values),
            Err(e) => {
                self.report.inputs += 1;
                self.input_error(format!("{input}: cannot encode the arguments: {e}"));
                self.wants_more()
            }
        }
    }

    fn input_error(&mut self, msg: String) {
        self.report.input_errors += 1;
        if self.report.first_input_error.is_none() {
            self.report.first_input_error = Some(msg);
        }
    }

    /// [`compare`](Self::compare) with the arguments as values of [`lua`](Self::lua).
    pub fn compare_values(&mut self, input: impl Display, values: &[Value]) -> bool {
        if !self.wants_more() {
            return false;
        }
        self.compare_one(input, values);
        self.wants_more()
    }

    fn compare_one(&mut self, input: impl Display, values: &[Value]) {
        self.report.inputs += 1;
        let a = self.hook.call_dyn(&self.active, &self.lua, values);
        let b = self.hook.call_dyn(&self.candidate, &self.lua, values);
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                self.input_error(format!("{input}: {e}"));
                return;
            }
        };
        self.report.active_errors += u64::from(a.error.is_some());
        self.report.candidate_errors += u64::from(b.error.is_some());
        let verdict_same = a.error.is_some() == b.error.is_some()
            && same_pairs(&a.results, &b.results)
            && a.other.len() == b.other.len()
            && a.other
                .iter()
                .zip(&b.other)
                .all(|((ka, va), (kb, vb))| ka == kb && lua_equal(va, vb));
        let written_same = same_pairs(&a.written_back, &b.written_back);
        if verdict_same && written_same {
            return;
        }
        self.report.verdicts_differ += u64::from(!verdict_same);
        self.report.written_back_differ += u64::from(!written_same);
        let (ja, jb) = (side_json(&a), side_json(&b));
        if !verdict_same {
            for key in changed_verdicts(&ja, &jb) {
                let key = if self.changes.len() >= MAX_CHANGES && !self.changes.contains_key(&key) {
                    OTHER_CHANGES.to_string()
                } else {
                    key
                };
                *self.changes.entry(key).or_default() += 1;
            }
        }
        if self.report.examples.len() < self.keep {
            let mut diffs = Vec::new();
            for part in ["error", "results", "args"] {
                differences(part, &ja[part], &jb[part], &mut diffs);
            }
            self.report.examples.push(ShadowDiff {
                input: input.to_string(),
                differences: diffs,
            });
        }
    }

    /// The report so far.
    pub fn report(&self) -> ShadowReport {
        let mut r = self.report.clone();
        let mut changes: Vec<(String, u64)> =
            self.changes.iter().map(|(k, v)| (k.clone(), *v)).collect();
        changes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        r.changes = changes;
        r
    }
}

fn locate(e: HookError, path: &Path) -> HookError {
    let msg = match e.line() {
        Some(l) => format!("{}:{l}: {}", path.display(), e.message()),
        None => format!("{}: {}", path.display(), e.message()),
    };
    HookError::new(e.kind(), msg)
}

fn same_pairs<K: PartialEq>(a: &[(K, Value)], b: &[(K, Value)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && lua_equal(va, vb))
}

fn to_json_or_note(v: &Value) -> Json {
    from_lua(v).unwrap_or_else(|e| Json::String(format!("<{e}>")))
}

/// `{"results": {..declared and other keys, "error": ..}, "args": {..}}`.
fn side_json(o: &DynOutcome) -> Json {
    let mut results = Map::new();
    for (k, v) in &o.results {
        results.insert((*k).to_string(), to_json_or_note(v));
    }
    for (k, v) in &o.other {
        results.insert(k.clone(), to_json_or_note(v));
    }
    let mut args = Map::new();
    for (k, v) in &o.written_back {
        args.insert((*k).to_string(), to_json_or_note(v));
    }
    json!({
        "error": o.error.as_ref().map(|e| e.kind().as_str()),
        "results": results,
        "args": args,
    })
}

/// `action: 2 -> 1` for each returned key (or `error`) that differs.
fn changed_verdicts(a: &Json, b: &Json) -> Vec<String> {
    if a["error"] != b["error"] {
        let side = |j: &Json| match j["error"].as_str() {
            Some(k) => format!("{k} error"),
            None => "ok".to_string(),
        };
        return vec![format!("error: {} -> {}", side(a), side(b))];
    }
    let (Some(ra), Some(rb)) = (a["results"].as_object(), b["results"].as_object()) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = ra.keys().chain(rb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let va = ra.get(k).unwrap_or(&Json::Null);
            let vb = rb.get(k).unwrap_or(&Json::Null);
            let mut d = Vec::new();
            differences("", va, vb, &mut d);
            (!d.is_empty()).then(|| format!("{k}: {} -> {}", compact(va), compact(vb)))
        })
        .collect()
}

fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

fn report_json(r: &ShadowReport) -> Json {
    json!({
        "hook": r.hook,
        "active": r.active,
        "candidate": r.candidate,
        "inputs": r.inputs,
        "limit": r.limit,
        "verdicts_differ": r.verdicts_differ,
        "written_back_differ": r.written_back_differ,
        "active_errors": r.active_errors,
        "candidate_errors": r.candidate_errors,
        "input_errors": r.input_errors,
        "first_input_error": r.first_input_error,
        "changes": r.changes.iter().map(|(k, n)| json!({"change": k, "inputs": n})).collect::<Vec<_>>(),
        "examples": r.examples.iter().map(|e| json!({
            "input": e.input,
            "differences": e.differences.iter().map(|m| json!({
                "path": m.path, "active": m.expected, "candidate": m.actual,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Writes the report as text.
fn report_text(r: &ShadowReport, io: &mut Io<'_>) -> std::io::Result<()> {
    let chain = |c: &[String]| {
        if c.is_empty() {
            "(nothing attached)".to_string()
        } else {
            c.join(", then ")
        }
    };
    writeln!(io.out, "shadow run of hook `{}`", r.hook)?;
    writeln!(io.out, "  active:    {}", chain(&r.active))?;
    writeln!(io.out, "  candidate: {}", chain(&r.candidate))?;
    match r.limit {
        Some(l) if r.inputs >= l => {
            writeln!(
                io.out,
                "inputs:               {} (the first {l}: --limit)",
                r.inputs
            )?;
        }
        _ => writeln!(io.out, "inputs:               {}", r.inputs)?,
    }
    writeln!(
        io.out,
        "verdicts differ:      {} ({})",
        r.verdicts_differ,
        percent(r.verdicts_differ, r.inputs)
    )?;
    writeln!(
        io.out,
        "written back differ:  {} ({})",
        r.written_back_differ,
        percent(r.written_back_differ, r.inputs)
    )?;
    writeln!(
        io.out,
        "errors:               active {}, candidate {}",
        r.active_errors, r.candidate_errors
    )?;
    if r.input_errors > 0 {
        writeln!(
            io.out,
            "inputs not run:       {} (first: {})",
            r.input_errors,
            r.first_input_error.as_deref().unwrap_or("?")
        )?;
    }
    if !r.changes.is_empty() {
        writeln!(io.out, "verdict changes:")?;
        let w = r.changes.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, n) in &r.changes {
            writeln!(io.out, "  {k:<w$}  {n}")?;
        }
    }
    if !r.examples.is_empty() {
        writeln!(io.out, "first differing inputs (active -> candidate):")?;
        for e in &r.examples {
            writeln!(io.out, "  {}", e.input)?;
            for m in &e.differences {
                writeln!(
                    io.out,
                    "    {}: {} -> {}",
                    m.path,
                    compact(&m.expected),
                    compact(&m.actual)
                )?;
            }
        }
    }
    Ok(())
}

pub(crate) fn run(
    rt: &Runtime,
    feed: Option<(&'static HookDescriptor, Feed<'_>)>,
    args: &ShadowArgs,
    io: &mut Io<'_>,
) -> CmdResult {
    let Some((hook, mut feed)) = feed else {
        return Err(Trouble(
            "this program gives `shadow` no inputs (a daemon provides them with \
             frrhook::cli::Tool::shadow_inputs)"
                .into(),
        ));
    };
    let shadow = Shadow::from_candidate_file(hook, rt, &args.candidate, args.replaces.as_deref());
    let mut shadow = match shadow {
        Ok(s) => match args.limit {
            Some(n) => s.keep(args.show).limit(n),
            None => s.keep(args.show),
        },
        Err(e) if matches!(e.kind(), ErrorKind::Config | ErrorKind::Io) => {
            return Err(Trouble(e.message().to_string()));
        }
        Err(e) => {
            writeln!(io.err, "error: {}", e.message())?;
            return Ok(EXIT_FAILED);
        }
    };
    feed(&mut shadow).map_err(|e| Trouble(format!("shadow inputs: {e}")))?;
    let report = shadow.report();
    if args.json {
        writeln!(io.out, "{}", pretty(&report_json(&report)))?;
    } else {
        report_text(&report, io)?;
    }
    Ok(if report.differs() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
