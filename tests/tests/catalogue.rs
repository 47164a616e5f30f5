//! The hook catalogue: every declared hook with its doc, arguments, results,
//! attachments and stats.

use std::fmt::Write;

use frrhook::Runtime;
use frrhook::codec::TypeRegistry;
use frrhook_tests::*;

fn render(rt: &Runtime) -> String {
    let mut out = String::new();
    let mut reg = TypeRegistry::default();
    const LISTED: [&str; 5] = [
        "test.counter",
        "test.observe",
        "test.priority",
        "test.route_match",
        "test.route_match_open",
    ];
    for h in rt.hooks().iter().filter(|h| LISTED.contains(&h.name())) {
        let d = h.descriptor;
        writeln!(out, "{}  ({})", d.name, d.rust_path).unwrap();
        writeln!(out, "  doc: {}", d.summary()).unwrap();
        writeln!(out, "  on_error: {:?}", d.on_error).unwrap();
        for a in h.args(&mut reg) {
            let mode = match (a.written_back, a.constant) {
                (true, _) => "in/out".to_string(),
                (false, Some(c)) => format!("const = {c}"),
                _ => "in".to_string(),
            };
            writeln!(
                out,
                "  arg {}: {} [{}] ({})",
                a.name, a.lua_type, a.rust_type, mode
            )
            .unwrap();
        }
        for r in h.results(&mut reg) {
            writeln!(
                out,
                "  result {}: {} [{}] default {:?}",
                r.name, r.lua_type, r.rust_type, r.default
            )
            .unwrap();
        }
        for a in &h.attachments {
            writeln!(out, "  attached: {}.lua:{}", a.script, a.function).unwrap();
        }
        if let Some(s) = &h.stats {
            writeln!(
                out,
                "  stats: calls {} errors {}",
                s.stats.calls,
                s.stats.error_count()
            )
            .unwrap();
        }
    }
    writeln!(out, "types:").unwrap();
    for c in reg.classes() {
        writeln!(out, "  {}: {:?}", c.name, c.kind).unwrap();
    }
    out
}

#[test]
fn catalogue_lists_declared_hooks_with_attachments_and_stats() {
    let dir = script_dir(&[("c", "function f(n) return { n = n + 1 } end")]);
    let rt = Runtime::new(dir.path());
    rt.attach("test.counter", "c", "f").unwrap();
    let mut n = 0;
    for _ in 0..3 {
        counter(&rt, &mut n).unwrap();
    }
    insta::assert_snapshot!(render(&rt));
    assert!(rt.duplicate_hooks().is_empty());
}
