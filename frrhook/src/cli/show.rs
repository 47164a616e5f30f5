//! `hooks show NAME [--json]`: everything about one hook.

use serde_json::{Value as Json, json};

use super::{CmdResult, EXIT_OK, Io, find_hook, function_name, json::pretty};
use crate::codec::{ClassDef, ClassKind, TypeRegistry};
use crate::{ArgInfo, ErrorPolicy, HookInfo, ResultInfo, Runtime, Stats};

pub(crate) fn run(rt: &Runtime, name: &str, as_json: bool, io: &mut Io<'_>) -> CmdResult {
    let info = find_hook(rt, name)?;
    let mut registry = TypeRegistry::default();
    let args = info.args(&mut registry);
    let results = info.results(&mut registry);
    if as_json {
        writeln!(
            io.out,
            "{}",
            pretty(&to_json(&info, &args, &results, &registry))
        )?;
    } else {
        text(&info, &args, &results, &registry, io)?;
    }
    Ok(EXIT_OK)
}

/// `function route_match(prefix, attributes, peer, RM_FAILURE, ...)`.
pub(crate) fn lua_signature(info: &HookInfo) -> String {
    let d = info.descriptor;
    let params: Vec<&str> = d.args.iter().map(|a| a.name).collect();
    format!("function {}({})", function_name(d), params.join(", "))
}

pub(crate) fn policy_text(p: ErrorPolicy) -> &'static str {
    match p {
        ErrorPolicy::FailClosed => "fail closed: the caller gets the error; no argument is changed",
        ErrorPolicy::Defaults => {
            "defaults: the caller gets the default results; no argument is changed; the error is logged and counted"
        }
    }
}

fn policy_name(p: ErrorPolicy) -> &'static str {
    match p {
        ErrorPolicy::FailClosed => "fail_closed",
        ErrorPolicy::Defaults => "defaults",
    }
}

fn table(rows: &[Vec<String>], indent: &str, io: &mut Io<'_>) -> std::io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        writeln!(io.out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn text(
    info: &HookInfo,
    args: &[ArgInfo],
    results: &[ResultInfo],
    registry: &TypeRegistry,
    io: &mut Io<'_>,
) -> std::io::Result<()> {
    let d = info.descriptor;
    writeln!(io.out, "{}", d.name)?;
    for line in d.doc.lines() {
        writeln!(io.out, "  {}", line.trim_end())?;
    }
    writeln!(io.out)?;
    writeln!(io.out, "lua:        {}", lua_signature(info))?;
    writeln!(
        io.out,
        "declared:   {} ({}:{})",
        d.rust_path, d.file, d.line
    )?;
    writeln!(io.out, "on error:   {}", policy_text(d.on_error))?;

    writeln!(io.out)?;
    writeln!(io.out, "arguments:")?;
    let mut rows = Vec::new();
    for a in args {
        let passed = match a.constant {
            Some(c) => format!("constant {c}"),
            None if a.written_back => format!("written back (return key `{}`)", a.name),
            None => "read-only".to_string(),
        };
        rows.push(vec![
            a.name.to_string(),
            a.lua_type.clone(),
            a.rust_type.to_string(),
            passed,
        ]);
    }
    if rows.is_empty() {
        writeln!(io.out, "  (none)")?;
    }
    table(&rows, "  ", io)?;

    writeln!(io.out)?;
    writeln!(io.out, "results:")?;
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.name.to_string(),
                r.lua_type.clone(),
                r.rust_type.to_string(),
                match r.default {
                    Some(d) => format!("when absent: {d}"),
                    None => "when absent: None".to_string(),
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(io.out, "  (none)")?;
    }
    table(&rows, "  ", io)?;

    let classes: Vec<&ClassDef> = registry.classes().collect();
    if !classes.is_empty() {
        writeln!(io.out)?;
        writeln!(io.out, "types:")?;
        for c in classes {
            match &c.kind {
                ClassKind::Class(fields) => {
                    writeln!(io.out, "  {}{}", c.name, doc_suffix(&c.doc))?;
                    let rows: Vec<Vec<String>> = fields
                        .iter()
                        .map(|f| vec![f.name.clone(), f.ty.to_string(), one_line(&f.doc)])
                        .collect();
                    table(&rows, "    ", io)?;
                }
                ClassKind::Alias(t) => {
                    writeln!(io.out, "  {} = {}{}", c.name, t, doc_suffix(&c.doc))?;
                }
            }
        }
    }

    writeln!(io.out)?;
    writeln!(io.out, "attachments (chain order):")?;
    if info.attachments.is_empty() {
        writeln!(io.out, "  (none)")?;
    }
    for (i, a) in info.attachments.iter().enumerate() {
        writeln!(io.out, "  {}. {}.lua: {}", i + 1, a.script, a.function)?;
    }

    writeln!(io.out)?;
    writeln!(io.out, "stats:")?;
    match &info.stats {
        None => writeln!(io.out, "  (nothing attached yet)")?,
        Some(s) => {
            writeln!(io.out, "  hook: {}", stats_line(&s.stats))?;
            for a in &s.attachments {
                writeln!(
                    io.out,
                    "  {}.lua: {}: {}",
                    a.script,
                    a.function,
                    stats_line(&a.stats)
                )?;
            }
        }
    }
    Ok(())
}

fn one_line(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn doc_suffix(doc: &str) -> String {
    let d = one_line(doc);
    if d.is_empty() {
        String::new()
    } else {
        format!(": {d}")
    }
}

/// `calls 12, errors 1 (runtime 1), limit stops 0[, time total 1.2ms max 30us]`.
pub(crate) fn stats_line(s: &Stats) -> String {
    let mut line = format!("calls {}, errors {}", s.calls, s.error_count());
    if !s.errors.is_empty() {
        let kinds: Vec<String> = s.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        line.push_str(&format!(" ({})", kinds.join(", ")));
    }
    line.push_str(&format!(", limit stops {}", s.limit_stops()));
    if let Some(rt) = &s.run_time {
        line.push_str(&format!(", time total {:?} max {:?}", rt.total, rt.max));
    }
    line
}

pub(crate) fn stats_json(s: &Stats) -> Json {
    let errors: serde_json::Map<String, Json> = s
        .errors
        .iter()
        .map(|(k, n)| (k.as_str().to_string(), json!(n)))
        .collect();
    let mut v = json!({
        "calls": s.calls,
        "errors": s.error_count(),
        "errors_by_kind": errors,
        "limit_stops": s.limit_stops(),
    });
    if let Some(rt) = &s.run_time {
        v["run_time"] = json!({
            "total_ns": u64::try_from(rt.total.as_nanos()).unwrap_or(u64::MAX),
            "max_ns": u64::try_from(rt.max.as_nanos()).unwrap_or(u64::MAX),
            "histogram": rt.histogram,
        });
    }
    v
}

pub(crate) fn class_json(c: &ClassDef) -> Json {
    match &c.kind {
        ClassKind::Class(fields) => json!({
            "name": c.name,
            "doc": c.doc,
            "kind": "class",
            "fields": fields.iter().map(|f| json!({
                "name": f.name,
                "type": f.ty.to_string(),
                "doc": f.doc,
            })).collect::<Vec<_>>(),
        }),
        ClassKind::Alias(t) => json!({
            "name": c.name,
            "doc": c.doc,
            "kind": "alias",
            "type": t.to_string(),
        }),
    }
}

fn to_json(
    info: &HookInfo,
    args: &[ArgInfo],
    results: &[ResultInfo],
    registry: &TypeRegistry,
) -> Json {
    let d = info.descriptor;
    json!({
        "name": d.name,
        "doc": d.doc,
        "lua": lua_signature(info),
        "rust_path": d.rust_path,
        "file": d.file,
        "line": d.line,
        "on_error": policy_name(d.on_error),
        "arguments": args.iter().map(|a| json!({
            "name": a.name,
            "lua_type": a.lua_type,
            "rust_type": a.rust_type,
            "written_back": a.written_back,
            "constant": a.constant,
        })).collect::<Vec<_>>(),
        "results": results.iter().map(|r| json!({
            "name": r.name,
            "lua_type": r.lua_type,
            "rust_type": r.rust_type,
            "default": r.default,
        })).collect::<Vec<_>>(),
        "types": registry.classes().map(class_json).collect::<Vec<_>>(),
        "attachments": info.attachments.iter().map(|a| json!({
            "script": a.script,
            "function": a.function,
        })).collect::<Vec<_>>(),
        "stats": info.stats.as_ref().map(|s| json!({
            "hook": stats_json(&s.stats),
            "attachments": s.attachments.iter().map(|a| json!({
                "script": a.script,
                "function": a.function,
                "stats": stats_json(&a.stats),
            })).collect::<Vec<_>>(),
        })),
    })
}
