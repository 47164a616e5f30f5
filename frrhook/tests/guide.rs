//! `docs/script-authors.md`, run: the guide cannot drift from the tools.
//!
//! - Every `$ cargo run --release --example bgp_policy -- ARGS` line of a `console`
//!   block is run, from the repository root, as the built demo daemon with the same
//!   ARGS; what it prints (stdout, then stderr) must be what the guide shows below the
//!   command, once times, rates and the checkout's path are redacted and spaces
//!   squeezed. A line `...` in the guide stands for any number of lines. Each output
//!   (redacted) and exit status is also an insta snapshot.
//! - Every code block right after `<!-- file: PATH -->` must be the file PATH.
//!
//! `GUIDE_UPDATE=1 cargo test -p frrhook --test guide` rewrites the outputs the guide
//! shows (except those with `...`, which are only checked) from a real run.
//!
//! The demo is built in release mode (`cargo build --release --example bgp_policy`), as
//! the guide runs it: a shadow run over the whole sample RIB takes seconds there and
//! minutes in a debug build.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUIDE: &str = "docs/script-authors.md";
const PREFIX: &str = "cargo run --release --example bgp_policy";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Builds the demo (release) and returns its path.
fn demo_binary() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-p",
            "frrhook",
            "--example",
            "bgp_policy",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root())
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build --release --example bgp_policy failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("cargo's JSON messages");
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == "bgp_policy"
            && let Some(exe) = msg["executable"].as_str()
        {
            return PathBuf::from(exe);
        }
    }
    panic!("cargo build did not report the bgp_policy executable:\n{stdout}");
}

/// One command of the guide and the output it shows.
#[derive(Debug)]
struct Step {
    /// 1-based line of the command in the guide.
    line: usize,
    args: Vec<String>,
    /// Lines of the shown output.
    shown: Vec<String>,
}

/// The commands of every ```console block.
fn steps(guide: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    for (i, line) in guide.lines().enumerate() {
        if !in_console {
            in_console = line.trim_end() == "```console";
            continue;
        }
        if line.trim_end() == "```" {
            in_console = false;
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            let rest = cmd.strip_prefix(PREFIX).unwrap_or_else(|| {
                panic!("{GUIDE}:{}: a command must start with `{PREFIX}`", i + 1)
            });
            let args: Vec<String> = match rest.trim().strip_prefix("--") {
                Some(a) => a.split_whitespace().map(String::from).collect(),
                None if rest.trim().is_empty() => Vec::new(),
                None => panic!("{GUIDE}:{}: arguments go after `--`", i + 1),
            };
            assert!(
                !args.iter().any(|a| a.contains(['"', '\'', '|', '>', '<'])),
                "{GUIDE}:{}: no quoting or redirection in guide commands",
                i + 1
            );
            steps.push(Step {
                line: i + 1,
                args,
                shown: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.shown.push(line.to_string());
        } else {
            panic!("{GUIDE}:{}: output before any command", i + 1);
        }
    }
    steps
}

/// `<!-- file: PATH -->` followed by a code block: (path, block content).
fn shown_files(guide: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- file: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "a code block must follow the file marker of {path}"
        );
        let mut content = String::new();
        for l in lines.by_ref() {
            if l.trim_end() == "```" {
                break;
            }
            content.push_str(l);
            content.push('\n');
        }
        out.push((path.to_string(), content));
    }
    out
}

/// Whether `word` is a number (`12`, `0.83`).
fn is_number(word: &str) -> bool {
    !word.is_empty()
        && word.chars().all(|c| c.is_ascii_digit() || c == '.')
        && word.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Times and rates become `<time>` and `<rate>`; the checkout's path `<repo>`; runs of
/// spaces one space.
fn redact(line: &str, root: &str) -> String {
    let line = line.replace(root, "<repo>");
    let words: Vec<&str> = line.split_whitespace().collect();
    let time_unit = |u: &str| matches!(u, "s" | "ms" | "us" | "µs" | "ns");
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next = words.get(i + 1).copied().unwrap_or("");
        let unit = next.trim_end_matches([',', ')', ';']);
        let tail = &next[unit.len()..];
        if is_number(w) && time_unit(unit) {
            out.push(format!("<time>{tail}"));
            i += 2;
        } else if is_number(w) && unit == "routes/s" {
            out.push(format!("<rate> routes/s{tail}"));
            i += 2;
        } else {
            // A duration with its unit attached: `0ns`, `12.5ms,`.
            let word = w.trim_end_matches([',', ')', ';']);
            let number = word.trim_end_matches(|c: char| c.is_alphabetic() || c == 'µ');
            if is_number(number) && time_unit(&word[number.len()..]) {
                out.push(format!("<time>{}", &w[word.len()..]));
            } else {
                out.push(w.to_string());
            }
            i += 1;
        }
    }
    out.join(" ")
}

/// Whether `actual` matches `shown`, where a `...` line of `shown` stands for any lines.
fn matches(shown: &[String], actual: &[String]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual.first() == Some(first) && matches(rest, &actual[1..]),
    }
}

struct Ran {
    code: i32,
    /// stdout then stderr, with the checkout's path as `<repo>`.
    text: String,
}

fn run(bin: &Path, args: &[String]) -> Ran {
    let out = Command::new(bin)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let root = root().display().to_string();
    Ran {
        code: out.status.code().unwrap_or(-1),
        text: text.replace(&root, "<repo>"),
    }
}

#[test]
fn the_files_the_guide_shows_are_the_files() {
    let guide = std::fs::read_to_string(root().join(GUIDE)).expect("read the guide");
    let files = shown_files(&guide);
    assert!(
        files.len() >= 2,
        "the guide shows its script and its fixture"
    );
    for (path, content) in files {
        let real = std::fs::read_to_string(root().join(&path))
            .unwrap_or_else(|e| panic!("{GUIDE} shows {path}, which cannot be read: {e}"));
        assert_eq!(
            content, real,
            "{GUIDE} shows {path} differently from the file"
        );
    }
}

#[test]
fn every_command_of_the_guide_prints_what_the_guide_shows() {
    let path = root().join(GUIDE);
    let guide = std::fs::read_to_string(&path).expect("read the guide");
    let steps = steps(&guide);
    assert!(steps.len() >= 8, "the guide runs the tools: {steps:?}");
    let bin = demo_binary();
    let root_s = root().display().to_string();
    let update = std::env::var_os("GUIDE_UPDATE").is_some();
    let mut lines: Vec<String> = guide.lines().map(String::from).collect();
    let mut failures = Vec::new();
    // Replace from the end, so that earlier line numbers stay right.
    for (n, step) in steps.iter().enumerate().rev() {
        let ran = run(&bin, &step.args);
        let actual: Vec<String> = ran.text.lines().map(|l| redact(l, &root_s)).collect();
        let shown: Vec<String> = step.shown.iter().map(|l| redact(l, &root_s)).collect();
        let cmd = step.args.join(" ");
        insta::assert_snapshot!(
            format!("guide_{:02}", n + 1),
            format!(
                "$ {PREFIX} -- {cmd}\nexit status: {}\n{}",
                ran.code,
                actual.join("\n")
            )
        );
        if matches(&shown, &actual) {
            continue;
        }
        if update && !step.shown.iter().any(|l| l == "...") {
            let start = step.line; // the output starts on the line after the command
            let end = start + step.shown.len();
            lines.splice(start..end, ran.text.lines().map(String::from));
            continue;
        }
        failures.push(format!(
            "{GUIDE}:{}: `{cmd}` printed (redacted):\n{}\n\nbut the guide shows:\n{}",
            step.line,
            actual.join("\n"),
            shown.join("\n")
        ));
    }
    if update {
        let mut text = lines.join("\n");
        text.push('\n');
        if text != guide {
            std::fs::write(&path, text).expect("rewrite the guide");
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n(GUIDE_UPDATE=1 rewrites the shown outputs)",
        failures.join("\n\n")
    );
}

/// The demo's LuaLS stubs, as `stubs` prints them (the guide writes them to a file).
#[test]
fn the_demo_stubs() {
    let bin = demo_binary();
    let ran = run(&bin, &["stubs".to_string()]);
    assert_eq!(ran.code, 0, "{}", ran.text);
    insta::assert_snapshot!("demo_stubs", ran.text);
}

#[test]
fn redaction() {
    let r = "/x/y";
    assert_eq!(
        redact(
            "hooks      5.132 s on 1 thread = 52607 routes/s (parsing excluded)",
            r
        ),
        "hooks <time> on 1 thread = <rate> routes/s (parsing excluded)"
    );
    assert_eq!(
        redact("  bgp.route_match   270005   0   0   14.6 us   12.1 ms", r),
        "bgp.route_match 270005 0 0 <time> <time>"
    );
    assert_eq!(
        redact(
            "calls 0, time total 0ns max 12.5ms, parsed in 0.83 s, /x/y/a",
            r
        ),
        "calls 0, time total <time> max <time>, parsed in <time>, <repo>/a"
    );
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches(&s(&["a", "...", "d"]), &s(&["a", "b", "c", "d"])));
    assert!(matches(&s(&["a", "..."]), &s(&["a"])));
    assert!(!matches(&s(&["a", "...", "d"]), &s(&["a", "b"])));
}
