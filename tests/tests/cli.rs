//! `frrhook::cli`: every subcommand on the test hooks, as a daemon's binary would run
//! them (argv parsed by clap, output captured), with snapshots of what they print, and
//! bad input: unknown hook, malformed fixture, a fixture value of the wrong type, a
//! script with a syntax error.

use clap::Parser;
use frrhook::cli::{Command, Shadow, Tool};
use frrhook::codec::{
    DecodeError, LuaDecode, LuaEncode, LuaType, TypeRegistry, whole_value_update,
};
use frrhook::mlua::{Lua, Value};
use frrhook::{DynError, Runtime, hook_point};
use frrhook_tests::{
    Attributes, Peer, RouteMatchArgs, RouteMatchOpenArgs, route_match, sample_route,
};
use ipnet::IpNet;

/// What a daemon does: mount the subcommands.
#[derive(Parser)]
#[command(name = "daemon")]
struct App {
    #[command(subcommand)]
    tool: Option<Command>,
}

/// A type scripts can read but fixtures cannot build (encode only).
pub struct Opaque(u32);
impl LuaEncode for Opaque {
    fn encode(&self, _lua: &Lua) -> frrhook::mlua::Result<Value> {
        Ok(Value::Integer(i64::from(self.0)))
    }
}

/// A result that can be read from Lua but not written to it (decode only).
#[derive(Debug)]
pub struct Verdict(String);
impl LuaDecode for Verdict {
    whole_value_update!();
    fn decode(value: &Value) -> Result<Self, DecodeError> {
        String::decode(value).map(Verdict)
    }
    fn lua_type(_: &mut TypeRegistry) -> LuaType {
        LuaType::String
    }
}

/// A hook with an encode-only argument and a decode-only result.
#[hook_point(name = "cli.opaque", results(verdict: Option<Verdict>))]
fn opaque(o: &Opaque, n: u32);

/// A decode-only result on a hook whose arguments fixtures can build: the outcome
/// copies what the script returned.
#[hook_point(name = "cli.verdict", results(verdict: Option<Verdict>, count: i64 = 0))]
fn verdict(n: u32);

struct Output {
    code: u8,
    out: String,
    err: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit status: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.out, self.err
        )
    }
}

fn tool_run(tool: Tool<'_>, args: &[&str]) -> Output {
    let app = App::try_parse_from(std::iter::once("daemon").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let cmd = app.tool.expect("a subcommand");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = tool.run_to(&cmd, &mut out, &mut err);
    Output {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

fn cli(rt: &Runtime, args: &[&str]) -> Output {
    tool_run(Tool::new(rt), args)
}

/// The test runtime: scripts from `tests/scripts`, `cli_policy.lua` attached to
/// `test.route_match`, and two calls made so that stats show.
fn runtime() -> Runtime {
    let rt = Runtime::new("scripts");
    rt.attach("test.route_match", "cli_policy", "route_match")
        .unwrap();
    let (prefix, mut attributes, peer) = sample_route();
    route_match(&rt, &prefix, &mut attributes, &peer).unwrap();
    route_match(&rt, &prefix, &mut attributes, &peer).unwrap();
    rt
}

#[test]
fn the_subcommands_mount_in_a_daemon_parser() {
    assert!(App::try_parse_from(["daemon"]).unwrap().tool.is_none());
    for args in [
        &["hooks", "list", "--json"][..],
        &["hooks", "show", "x"],
        &[
            "check",
            "a.lua",
            "b.lua",
            "--attachments",
            "t.toml",
            "--strict",
        ],
        &["run", "h", "--script", "s.lua", "--fixture", "f.json"],
        &["stubs", "--out", "x.lua"],
        &["shadow", "--candidate", "c.lua", "--show", "3"],
    ] {
        let argv = std::iter::once("daemon").chain(args.iter().copied());
        assert!(App::try_parse_from(argv).is_ok(), "{args:?}");
    }
    assert!(App::try_parse_from(["daemon", "check"]).is_err());
}

#[test]
fn hooks_list() {
    let rt = runtime();
    let o = cli(&rt, &["hooks", "list"]);
    assert_eq!(o.code, 0);
    insta::assert_snapshot!("hooks_list", o.to_string());
    let o = cli(&rt, &["hooks", "list", "--json"]);
    assert_eq!(o.code, 0);
    let v: serde_json::Value = serde_json::from_str(&o.out).unwrap();
    let rm = v
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "test.route_match")
        .unwrap();
    assert_eq!(rm["calls"], 2);
    insta::assert_snapshot!("hooks_list_json", o.to_string());
}

#[test]
fn hooks_show() {
    let rt = runtime();
    let o = cli(&rt, &["hooks", "show", "test.route_match"]);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("hooks_show", o.to_string());
    let o = cli(&rt, &["hooks", "show", "test.priority", "--json"]);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("hooks_show_json", o.to_string());
}

#[test]
fn hooks_show_unknown_name_suggests() {
    let o = cli(&runtime(), &["hooks", "show", "test.route_mach"]);
    assert_eq!(o.code, 2);
    assert_eq!(o.out, "");
    assert_eq!(
        o.err,
        "error: no hook named `test.route_mach`; did you mean `test.route_match` or `test.route_match_open`? (`hooks list` shows every hook)\n"
    );
}

#[test]
fn check_a_good_script() {
    let o = cli(&runtime(), &["check", "scripts/cli_policy.lua"]);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("check_ok", o.to_string());
}

#[test]
fn check_a_syntax_error() {
    let o = cli(
        &runtime(),
        &[
            "check",
            "scripts/cli_policy.lua",
            "scripts/cli_syntax_error.lua",
        ],
    );
    assert_eq!(o.code, 1, "{o}");
    assert!(
        o.out
            .contains("scripts/cli_syntax_error.lua:6: syntax error: "),
        "{o}"
    );
    insta::assert_snapshot!("check_syntax_error", o.to_string());
}

#[test]
fn check_warns_about_undefined_globals() {
    let o = cli(&runtime(), &["check", "scripts/cli_globals.lua"]);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("check_globals", o.to_string());
    let o = cli(
        &runtime(),
        &["check", "--strict", "scripts/cli_globals.lua"],
    );
    assert_eq!(o.code, 1, "{o}");
}

#[test]
fn check_an_attachment_file() {
    let o = cli(
        &runtime(),
        &[
            "check",
            "scripts/cli_policy.lua",
            "--attachments",
            "scripts/cli_attach.toml",
        ],
    );
    assert_eq!(o.code, 1, "{o}");
    insta::assert_snapshot!("check_attachments", o.to_string());
}

#[test]
fn check_an_unreadable_script() {
    let o = cli(&runtime(), &["check", "scripts/does_not_exist.lua"]);
    assert_eq!(o.code, 1);
    assert!(
        o.out
            .starts_with("scripts/does_not_exist.lua: error: cannot read: "),
        "{o}"
    );
}

const RUN_POLICY: [&str; 4] = [
    "run",
    "test.route_match",
    "--script",
    "scripts/cli_policy.lua",
];

fn run_fixture(fixture: &str, extra: &[&str]) -> Output {
    let mut args = RUN_POLICY.to_vec();
    args.extend(["--fixture", fixture]);
    args.extend(extra);
    cli(&runtime(), &args)
}

#[test]
fn run_a_fixture() {
    let o = run_fixture("fixtures/route_match.json", &[]);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("run_route_match", o.to_string());
}

#[test]
fn run_a_fixture_with_a_mismatch() {
    let o = run_fixture("fixtures/route_match_mismatch.json", &[]);
    assert_eq!(o.code, 1, "{o}");
    insta::assert_snapshot!("run_mismatch", o.to_string());
}

#[test]
fn run_a_malformed_fixture() {
    let o = run_fixture("fixtures/route_match_malformed.json", &[]);
    assert_eq!(o.code, 2, "{o}");
    assert_eq!(o.out, "");
    insta::assert_snapshot!("run_malformed", o.to_string());
    let o = run_fixture("fixtures/none.json", &[]);
    assert_eq!(o.code, 2);
    assert!(
        o.err.starts_with("error: cannot read fixtures/none.json: "),
        "{o}"
    );
}

#[test]
fn run_a_fixture_with_a_wrong_type() {
    let o = run_fixture("fixtures/route_match_wrong_type.json", &[]);
    assert_eq!(o.code, 2, "{o}");
    assert!(
        o.out.contains(
            "error: fixture case \"metric as text\": argument attributes.metric: expected integer, got string (\"a\")"
        ),
        "{o}"
    );
    insta::assert_snapshot!("run_wrong_type", o.to_string());
}

#[test]
fn run_a_script_with_a_syntax_error() {
    let o = cli(
        &runtime(),
        &[
            "run",
            "test.route_match",
            "--script",
            "scripts/cli_syntax_error.lua",
            "--fixture",
            "fixtures/route_match.json",
        ],
    );
    assert_eq!(o.code, 1, "{o}");
    assert_eq!(o.out, "");
    assert!(
        o.err
            .starts_with("error: scripts/cli_syntax_error.lua:6: 'end' expected"),
        "{o}"
    );
}

#[test]
fn run_an_unknown_hook_or_function() {
    let o = cli(
        &runtime(),
        &[
            "run",
            "test.rout_match",
            "--script",
            "scripts/cli_policy.lua",
            "--fixture",
            "fixtures/route_match.json",
        ],
    );
    assert_eq!(o.code, 2, "{o}");
    assert!(o.err.contains("did you mean `test.route_match`"), "{o}");
    let o = run_fixture("fixtures/route_match.json", &["--function", "nope"]);
    assert_eq!(o.code, 1, "{o}");
    assert_eq!(
        o.err,
        "error: scripts/cli_policy.lua: function `nope` is not defined in cli_policy.lua\n"
    );
}

#[test]
fn run_with_error_expectations_and_other_keys() {
    let args = [
        "run",
        "test.priority",
        "--script",
        "scripts/cli_policy.lua",
        "--fixture",
        "fixtures/priority.json",
    ];
    let o = cli(&runtime(), &args);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("run_priority", o.to_string());
    let mut json = args.to_vec();
    json.push("--json");
    let o = cli(&runtime(), &json);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("run_priority_json", o.to_string());
}

#[test]
fn stubs() {
    let rt = runtime();
    let o = cli(&rt, &["stubs"]);
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.err, "");
    insta::assert_snapshot!("stubs", o.out);

    let dir = tempfile::tempdir().unwrap();
    // Into a directory that does not exist yet (an editor's stub folder, `target/`
    // before the first build): it is created.
    let path = dir.path().join("editor/stubs/hooks.d.lua");
    let o = cli(&rt, &["stubs", "--out", path.to_str().unwrap()]);
    assert_eq!(o.code, 0);
    assert_eq!(o.out, "");
    assert!(o.err.starts_with("wrote LuaLS stubs for "), "{o}");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, cli(&rt, &["stubs"]).out);
}

/// Twenty routes of several shapes.
fn rib() -> Vec<(IpNet, Attributes, Peer)> {
    (0..20u8)
        .map(|i| {
            let (_, mut attributes, peer) = sample_route();
            let prefix: IpNet = format!("10.{i}.0.0/16").parse().unwrap();
            attributes.aspath = (0..i % 7)
                .map(|h| (65001 + u32::from(h)).to_string())
                .collect::<Vec<_>>()
                .join(" ");
            if i % 3 == 0 {
                attributes.community = vec!["65000:100".into()];
            }
            (prefix, attributes, peer)
        })
        .collect()
}

fn shadow_tool<'a>(rt: &'a Runtime, rib: &'a [(IpNet, Attributes, Peer)]) -> Tool<'a> {
    Tool::new(rt).shadow_inputs(RouteMatchArgs::hook(), move |shadow: &mut Shadow| {
        for (prefix, attributes, peer) in rib {
            shadow.compare(prefix, (prefix, attributes, peer));
        }
        Ok(())
    })
}

#[test]
fn shadow_a_candidate() {
    let rt = runtime();
    let rib = rib();
    let before = rt.hook_stats("test.route_match").unwrap().stats.calls;
    let o = tool_run(
        shadow_tool(&rt, &rib),
        &[
            "shadow",
            "--candidate",
            "scripts/cli_policy_v2.lua",
            "--show",
            "3",
        ],
    );
    assert_eq!(o.code, 1, "{o}");
    insta::assert_snapshot!("shadow", o.to_string());
    // The daemon's runtime ran nothing.
    assert_eq!(
        rt.hook_stats("test.route_match").unwrap().stats.calls,
        before
    );

    let o = tool_run(
        shadow_tool(&rt, &rib),
        &[
            "shadow",
            "--candidate",
            "scripts/cli_policy_v2.lua",
            "--json",
            "--show",
            "1",
        ],
    );
    assert_eq!(o.code, 1, "{o}");
    insta::assert_snapshot!("shadow_json", o.to_string());

    // Only the first inputs; the feed stops when the shadow wants no more.
    let mut fed = 0;
    let o = tool_run(
        Tool::new(&rt).shadow_inputs(RouteMatchArgs::hook(), |shadow: &mut Shadow| {
            for (prefix, attributes, peer) in &rib {
                fed += 1;
                if !shadow.compare(prefix, (prefix, attributes, peer)) {
                    break;
                }
            }
            Ok(())
        }),
        &[
            "shadow",
            "--candidate",
            "scripts/cli_policy_v2.lua",
            "--limit",
            "4",
        ],
    );
    assert!(
        o.out
            .contains("inputs:               4 (the first 4: --limit)\n"),
        "{o}"
    );
    assert_eq!(fed, 4);
}

#[test]
fn shadow_the_same_policy_differs_nowhere() {
    let rt = runtime();
    let rib = rib();
    // A copy of the attached script under another name.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("same.lua");
    std::fs::copy("scripts/cli_policy.lua", &copy).unwrap();
    let o = tool_run(
        shadow_tool(&rt, &rib),
        &["shadow", "--candidate", copy.to_str().unwrap()],
    );
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.out
            .contains("inputs:               20\nverdicts differ:      0 (0.0%)\n"),
        "{o}"
    );
}

#[test]
fn shadow_bad_input() {
    let rt = runtime();
    let rib = rib();
    // No inputs wired.
    let o = cli(&rt, &["shadow", "--candidate", "scripts/cli_policy_v2.lua"]);
    assert_eq!(o.code, 2);
    assert!(o.err.contains("gives `shadow` no inputs"), "{o}");
    // A candidate that does not compile.
    let o = tool_run(
        shadow_tool(&rt, &rib),
        &["shadow", "--candidate", "scripts/cli_syntax_error.lua"],
    );
    assert_eq!(o.code, 1, "{o}");
    assert!(
        o.err
            .starts_with("error: scripts/cli_syntax_error.lua:6: 'end' expected"),
        "{o}"
    );
    // A script that is not attached.
    let o = tool_run(
        shadow_tool(&rt, &rib),
        &[
            "shadow",
            "--candidate",
            "scripts/cli_policy_v2.lua",
            "--replaces",
            "other",
        ],
    );
    assert_eq!(o.code, 2, "{o}");
    assert_eq!(
        o.err,
        "error: script `other` is not attached to `test.route_match` (attached: cli_policy)\n"
    );
}

#[test]
fn dyn_call_reports_errors_even_when_the_hook_fails_open() {
    let rt = Runtime::new("scripts");
    rt.add_script("boom", "function route_match() error('boom') end")
        .unwrap();
    rt.attach("test.route_match_open", "boom", "route_match")
        .unwrap();
    let lua = Lua::new();
    let (prefix, attributes, peer) = sample_route();
    let values = vec![
        prefix.encode(&lua).unwrap(),
        attributes.encode(&lua).unwrap(),
        peer.encode(&lua).unwrap(),
    ];
    let out = RouteMatchOpenArgs::hook()
        .call_dyn(&rt, &lua, &values)
        .unwrap();
    let e = out.error.clone().expect("the error is reported");
    assert!(e.to_string().contains("boom"), "{e}");
    assert!(out.results.is_empty());
    // The written-back argument is there, unchanged.
    let back = Attributes::decode(out.written_back("attributes").unwrap()).unwrap();
    assert_eq!(back, attributes);
    // The typed call fails open.
    let mut a = attributes.clone();
    let r = frrhook_tests::route_match_open(&rt, &prefix, &mut a, &peer).unwrap();
    assert_eq!(r.action, None);

    let err = RouteMatchOpenArgs::hook()
        .call_dyn(&rt, &lua, &values[..2])
        .unwrap_err();
    assert!(
        matches!(
            err,
            DynError::Arity {
                expected: 3,
                got: 2
            }
        ),
        "{err}"
    );
}

#[test]
fn dyn_call_with_encode_only_arguments_and_decode_only_results() {
    let rt = Runtime::new("scripts");
    rt.add_script(
        "o",
        "function opaque(o, n) return { verdict = 'v' .. o .. n, extra = { 1, 2 } } end",
    )
    .unwrap();
    rt.attach("cli.opaque", "o", "opaque").unwrap();
    // The typed call works.
    let r = opaque(&rt, &Opaque(4), 2).unwrap();
    assert_eq!(r.verdict.unwrap().0, "v42");
    // The dynamic call cannot build an `Opaque`: a clear error, not a compile error.
    let lua = Lua::new();
    let err = OpaqueArgs::hook()
        .call_dyn(&rt, &lua, &[Value::Integer(4), Value::Integer(2)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "argument `o` of type `&Opaque` cannot be built from a fixture: its type does not implement `LuaDecode`"
    );
}

#[test]
fn dyn_call_results_without_lua_encode_are_copied_from_the_returned_table() {
    let rt = Runtime::new("scripts");
    rt.add_script(
        "v",
        "function verdict(n) return { verdict = 'ok' .. n, more = { a = true } } end",
    )
    .unwrap();
    rt.attach("cli.verdict", "v", "verdict").unwrap();
    let lua = Lua::new();
    let out = VerdictArgs::hook()
        .call_dyn(&rt, &lua, &[Value::Integer(7)])
        .unwrap();
    assert!(out.error.is_none());
    assert_eq!(
        out.result("verdict")
            .and_then(|v| v.as_string().map(|s| s.to_string_lossy())),
        Some("ok7".to_string())
    );
    assert_eq!(out.result("count"), Some(&Value::Integer(0)));
    assert_eq!(out.other.len(), 1);
    assert_eq!(out.other[0].0, "more");
    let bad = VerdictArgs::hook()
        .call_dyn(&rt, &lua, &[Value::Integer(-1)])
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "argument n: expected integer in 0..=4294967295 (u32), got -1"
    );
}

#[test]
fn a_template_is_a_fixture_that_runs() {
    let rt = runtime();
    let o = cli(&rt, &["hooks", "template", "test.route_match"]);
    assert_eq!(o.code, 0, "{o}");
    insta::assert_snapshot!("hooks_template", o.to_string());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    std::fs::write(&path, &o.out).unwrap();
    let mut args = RUN_POLICY.to_vec();
    args.extend(["--fixture", path.to_str().unwrap()]);
    let o = cli(&rt, &args);
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.out
            .starts_with("case 1 \"example\": ran\n  results: {\"action\": 2}\n"),
        "{o}"
    );
    let o = cli(&rt, &["hooks", "template", "nope"]);
    assert_eq!(o.code, 2, "{o}");
}
