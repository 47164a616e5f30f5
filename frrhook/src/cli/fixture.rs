//! `run HOOK --script FILE [--function NAME] --fixture FILE.json [--json]`: calls a hook
//! with one script function once per fixture case and prints, per case, the results and
//! the written-back arguments as JSON, with the error if any; with expectations, it is a
//! test runner (exit status 1 on a mismatch, with the differences).
//!
//! A fixture:
//!
//! ```json
//! {
//!   "defaults": { "args": { "peer": { "remote_as": 65001 } } },
//!   "cases": [
//!     {
//!       "name": "customer routes get local-pref 200",
//!       "args": { "prefix": "10.0.0.0/24", "attributes": { "localpref": 100 } },
//!       "expect": { "results": { "action": 3 }, "args": { "attributes": { "localpref": 200 } } }
//!     }
//!   ]
//! }
//! ```
//!
//! - `args` holds every argument by name (constants excluded), in the JSON form of its
//!   Lua shape (`hooks show` prints the shapes). `defaults.args` is merged under every
//!   case's `args` (objects key by key), so shared values are written once.
//! - `expect` is optional: `results` (declared results and any other returned key),
//!   `args` (the written-back arguments after the call) and `error` (a text the call's
//!   error must contain; without it the call must succeed). Objects in `expect` are
//!   checked on the keys they list; `null` checks that a key is absent.
//! - The cases run in order in one Lua state, as calls in the daemon do: globals a
//!   script keeps persist from one case to the next.

use mlua::Lua;
use serde_json::{Map, Value as Json, json};

use super::json::{Mismatch, compact, expect_matches, from_lua, pretty, to_lua};
use super::{
    CmdResult, EXIT_FAILED, EXIT_OK, EXIT_TROUBLE, Io, RunArgs, Trouble, find_hook, function_name,
    read, scratch_like, script_name,
};
use crate::{ArgMode, DynOutcome, HookDescriptor, Runtime};

/// A parsed fixture file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fixture {
    /// Arguments merged under every case's.
    pub defaults: Map<String, Json>,
    /// The cases, in order.
    pub cases: Vec<Case>,
}

/// One call.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Its name (`case N` when the fixture gives none).
    pub name: String,
    /// The arguments by name.
    pub args: Map<String, Json>,
    /// What the call must produce, if anything.
    pub expect: Option<Expect>,
}

/// Expectations of a case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    /// Returned keys (declared results and others).
    pub results: Map<String, Json>,
    /// Written-back arguments after the call.
    pub args: Map<String, Json>,
    /// A text the error must contain; `None`: the call must succeed.
    pub error: Option<String>,
}

fn object<'j>(v: &'j Json, what: &str) -> Result<&'j Map<String, Json>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} must be an object, not {}", kind(v)))
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn only_keys(m: &Map<String, Json>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            let mut msg = format!("{what} has an unknown key `{k}`");
            let close = crate::registry::suggest(k, allowed.iter().copied());
            if let Some(c) = close.first() {
                msg.push_str(&format!("; did you mean `{c}`?"));
            } else {
                msg.push_str(&format!(" (allowed: {})", allowed.join(", ")));
            }
            return Err(msg);
        }
    }
    Ok(())
}

impl Fixture {
    /// Parses a fixture; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Fixture, String> {
        let v: Json = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
        Fixture::from_json(&v)
    }

    /// Reads a fixture from its JSON value.
    pub fn from_json(v: &Json) -> Result<Fixture, String> {
        let top = object(v, "the fixture")?;
        only_keys(top, &["defaults", "cases"], "the fixture")?;
        let mut fixture = Fixture::default();
        if let Some(d) = top.get("defaults") {
            let d = object(d, "`defaults`")?;
            only_keys(d, &["args"], "`defaults`")?;
            if let Some(a) = d.get("args") {
                fixture.defaults = object(a, "`defaults.args`")?.clone();
            }
        }
        let cases = top
            .get("cases")
            .ok_or("the fixture has no `cases` array")?
            .as_array()
            .ok_or("`cases` must be an array")?;
        for (i, c) in cases.iter().enumerate() {
            let what = format!("case {}", i + 1);
            let c = object(c, &what)?;
            only_keys(c, &["name", "args", "expect"], &what)?;
            let name = match c.get("name") {
                None => what.clone(),
                Some(Json::String(s)) => s.clone(),
                Some(other) => {
                    return Err(format!(
                        "{what}: `name` must be a string, not {}",
                        kind(other)
                    ));
                }
            };
            let args = match c.get("args") {
                None => Map::new(),
                Some(a) => object(a, &format!("case {name:?}: `args`"))?.clone(),
            };
            let expect = match c.get("expect") {
                None => None,
                Some(e) => {
                    let what = format!("case {name:?}: `expect`");
                    let e = object(e, &what)?;
                    only_keys(e, &["results", "args", "error"], &what)?;
                    let part = |k: &str| -> Result<Map<String, Json>, String> {
                        match e.get(k) {
                            None => Ok(Map::new()),
                            Some(v) => object(v, &format!("{what}.{k}")).cloned(),
                        }
                    };
                    Some(Expect {
                        results: part("results")?,
                        args: part("args")?,
                        error: match e.get("error") {
                            None | Some(Json::Null) => None,
                            Some(Json::String(s)) => Some(s.clone()),
                            Some(other) => {
                                return Err(format!(
                                    "{what}.error must be a string, not {}",
                                    kind(other)
                                ));
                            }
                        },
                    })
                }
            };
            fixture.cases.push(Case { name, args, expect });
        }
        Ok(fixture)
    }
}

/// `defaults` with `over` on top, objects merged key by key.
fn merge(defaults: &Map<String, Json>, over: &Map<String, Json>) -> Map<String, Json> {
    let mut out = defaults.clone();
    for (k, v) in over {
        let merged = match (out.get(k), v) {
            (Some(Json::Object(d)), Json::Object(o)) => Json::Object(merge(d, o)),
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

/// What one case produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Ran, no expectations.
    Ran,
    Passed,
    Failed,
    /// The call failed and no error was expected.
    Error,
    /// The fixture's values do not fit the hook.
    BadFixture,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ran => "ran",
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Error => "ERROR",
            Status::BadFixture => "BAD FIXTURE",
        }
    }
}

struct CaseReport {
    name: String,
    status: Status,
    /// `{"results": .., "args": .., "error": ..}`, or the fixture error text.
    outcome: Result<Json, String>,
    mismatches: Vec<Mismatch>,
}

/// The values of a case's arguments, in declaration order.
fn case_values(
    lua: &Lua,
    hook: &HookDescriptor,
    args: &Map<String, Json>,
) -> Result<Vec<mlua::Value>, String> {
    let declared: Vec<_> = hook
        .args
        .iter()
        .filter(|a| !matches!(a.mode, ArgMode::Const(_)))
        .collect();
    for k in args.keys() {
        if !declared.iter().any(|a| a.name == k) {
            let names: Vec<&str> = declared.iter().map(|a| a.name).collect();
            let mut msg = format!("unknown argument `{k}`");
            let close = crate::registry::suggest(k, names.iter().copied());
            if let Some(c) = close.first() {
                msg.push_str(&format!("; did you mean `{c}`?"));
            } else {
                msg.push_str(&format!(" (the hook's arguments: {})", names.join(", ")));
            }
            return Err(msg);
        }
    }
    declared
        .iter()
        .map(|a| {
            let v = args
                .get(a.name)
                .ok_or_else(|| format!("missing argument `{}` ({})", a.name, a.rust_type))?;
            to_lua(lua, v).map_err(|e| format!("argument `{}`: {e}", a.name))
        })
        .collect()
}

fn outcome_json(o: &DynOutcome) -> Result<Json, String> {
    let mut results = Map::new();
    for (k, v) in &o.results {
        results.insert(
            (*k).to_string(),
            from_lua(v).map_err(|e| format!("result `{k}`: {e}"))?,
        );
    }
    let mut args = Map::new();
    for (k, v) in &o.written_back {
        args.insert(
            (*k).to_string(),
            from_lua(v).map_err(|e| format!("argument `{k}`: {e}"))?,
        );
    }
    let mut out = json!({ "results": results, "args": args });
    if !o.other.is_empty() {
        let mut other = Map::new();
        for (k, v) in &o.other {
            other.insert(
                k.clone(),
                from_lua(v).map_err(|e| format!("key `{k}`: {e}"))?,
            );
        }
        out["other"] = Json::Object(other);
    }
    out["error"] = match &o.error {
        Some(e) => Json::String(e.to_string()),
        None => Json::Null,
    };
    Ok(out)
}

fn run_case(
    rt: &Runtime,
    lua: &Lua,
    hook: &HookDescriptor,
    defaults: &Map<String, Json>,
    case: &Case,
) -> CaseReport {
    let bad = |msg: String| CaseReport {
        name: case.name.clone(),
        status: Status::BadFixture,
        outcome: Err(msg),
        mismatches: Vec::new(),
    };
    let args = merge(defaults, &case.args);
    let values = match case_values(lua, hook, &args) {
        Ok(v) => v,
        Err(msg) => return bad(msg),
    };
    let outcome = match hook.call_dyn(rt, lua, &values) {
        Ok(o) => o,
        Err(e) => return bad(e.to_string()),
    };
    let json = match outcome_json(&outcome) {
        Ok(j) => j,
        Err(msg) => return bad(msg),
    };
    let mut mismatches = Vec::new();
    let status = match &case.expect {
        None if outcome.error.is_some() => Status::Error,
        None => Status::Ran,
        Some(e) => {
            let error_text = outcome.error.as_ref().map(ToString::to_string);
            match (&e.error, &error_text) {
                (None, Some(actual)) => mismatches.push(Mismatch {
                    path: "error".into(),
                    expected: Json::Null,
                    actual: Json::String(actual.clone()),
                }),
                (Some(want), None) => mismatches.push(Mismatch {
                    path: "error".into(),
                    expected: Json::String(format!("an error containing {want:?}")),
                    actual: Json::Null,
                }),
                (Some(want), Some(actual)) if !actual.contains(want.as_str()) => {
                    mismatches.push(Mismatch {
                        path: "error".into(),
                        expected: Json::String(format!("an error containing {want:?}")),
                        actual: Json::String(actual.clone()),
                    })
                }
                _ => {}
            }
            if outcome.error.is_none() {
                let mut returned = json["results"].as_object().cloned().unwrap_or_default();
                if let Some(other) = json.get("other").and_then(Json::as_object) {
                    returned.extend(other.clone());
                }
                expect_matches(
                    "results",
                    &Json::Object(e.results.clone()),
                    &Json::Object(returned),
                    &mut mismatches,
                );
            }
            expect_matches(
                "args",
                &Json::Object(e.args.clone()),
                &json["args"],
                &mut mismatches,
            );
            if mismatches.is_empty() {
                Status::Passed
            } else {
                Status::Failed
            }
        }
    };
    CaseReport {
        name: case.name.clone(),
        status,
        outcome: Ok(json),
        mismatches,
    }
}

pub(crate) fn run(host: &Runtime, args: &RunArgs, io: &mut Io<'_>) -> CmdResult {
    let info = find_hook(host, &args.hook)?;
    let hook = info.descriptor;
    let function = args
        .function
        .clone()
        .unwrap_or_else(|| function_name(hook).to_string());
    let text = String::from_utf8(read(&args.fixture)?)
        .map_err(|_| Trouble(format!("fixture {}: not UTF-8", args.fixture.display())))?;
    let fixture = Fixture::parse(&text)
        .map_err(|e| Trouble(format!("fixture {}: {e}", args.fixture.display())))?;
    let name = script_name(&args.script)?;
    let source = read(&args.script)?;

    let rt = scratch_like(host);
    if let Err(e) = rt
        .add_script(&name, &source)
        .and_then(|()| rt.attach_hook(hook, &name, &function))
    {
        let where_ = match e.line() {
            Some(l) => format!("{}:{l}", args.script.display()),
            None => args.script.display().to_string(),
        };
        writeln!(io.err, "error: {where_}: {}", e.message())?;
        return Ok(EXIT_FAILED);
    }
    let lua = Lua::new();
    let reports: Vec<CaseReport> = fixture
        .cases
        .iter()
        .map(|c| run_case(&rt, &lua, hook, &fixture.defaults, c))
        .collect();

    let count = |s: Status| reports.iter().filter(|r| r.status == s).count();
    let (ran, passed, failed, errors, bad) = (
        count(Status::Ran),
        count(Status::Passed),
        count(Status::Failed),
        count(Status::Error),
        count(Status::BadFixture),
    );
    if args.json {
        let cases: Vec<Json> = reports
            .iter()
            .map(|r| {
                let mut c = json!({ "name": r.name, "status": r.status.as_str().to_lowercase() });
                match &r.outcome {
                    Ok(o) => {
                        if let Some(m) = o.as_object() {
                            for (k, v) in m {
                                c[k] = v.clone();
                            }
                        }
                    }
                    Err(msg) => c["fixture_error"] = Json::String(fixture_error(&r.name, msg)),
                }
                if !r.mismatches.is_empty() {
                    c["mismatches"] = r
                        .mismatches
                        .iter()
                        .map(
                            |m| json!({"path": m.path, "expected": m.expected, "actual": m.actual}),
                        )
                        .collect();
                }
                c
            })
            .collect();
        let doc = json!({
            "hook": hook.name,
            "script": args.script.display().to_string(),
            "function": function,
            "cases": cases,
            "summary": {"ran": ran, "passed": passed, "failed": failed, "errors": errors, "bad_fixture": bad},
        });
        writeln!(io.out, "{}", pretty(&doc))?;
    } else {
        for (i, r) in reports.iter().enumerate() {
            writeln!(io.out, "case {} {:?}: {}", i + 1, r.name, r.status.as_str())?;
            match &r.outcome {
                Ok(o) => {
                    for key in ["results", "other", "args"] {
                        if let Some(v) = o.get(key) {
                            writeln!(io.out, "  {key}: {}", compact(v))?;
                        }
                    }
                    if let Some(e) = o.get("error").and_then(Json::as_str) {
                        writeln!(io.out, "  error: {e}")?;
                    }
                }
                Err(msg) => writeln!(io.out, "  error: {}", fixture_error(&r.name, msg))?,
            }
            for m in &r.mismatches {
                writeln!(io.out, "  mismatch at {}:", m.path)?;
                writeln!(io.out, "  - expected {}", compact(&m.expected))?;
                writeln!(io.out, "  + actual   {}", compact(&m.actual))?;
            }
        }
        let mut parts = Vec::new();
        for (n, what) in [
            (passed, "passed"),
            (failed, "failed"),
            (errors, "failed with an error"),
            (bad, "with a bad fixture"),
            (ran, "without expectations"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let total = reports.len();
        writeln!(
            io.out,
            "{total} case{}: {}",
            if total == 1 { "" } else { "s" },
            if parts.is_empty() {
                "none".to_string()
            } else {
                parts.join(", ")
            }
        )?;
    }
    Ok(if bad > 0 {
        EXIT_TROUBLE
    } else if failed > 0 || errors > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// `fixture case "x": argument attributes.metric: expected integer, got string ("a")`.
fn fixture_error(case: &str, msg: &str) -> String {
    format!("fixture case {case:?}: {msg}")
}
