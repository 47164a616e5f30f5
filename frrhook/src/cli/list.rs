//! `hooks list [--json]`: every hook with its summary, attachment count, calls, errors.

use serde_json::json;

use super::{CmdResult, EXIT_OK, Io, json::pretty};
use crate::Runtime;

pub(crate) fn run(rt: &Runtime, as_json: bool, io: &mut Io<'_>) -> CmdResult {
    let hooks = rt.hooks();
    if as_json {
        let items: Vec<_> = hooks
            .iter()
            .map(|h| {
                let stats = h.stats.as_ref().map(|s| &s.stats);
                json!({
                    "name": h.name(),
                    "summary": h.descriptor.summary(),
                    "attachments": h.attachments.iter().map(|a| json!({
                        "script": a.script,
                        "function": a.function,
                    })).collect::<Vec<_>>(),
                    "calls": stats.map_or(0, |s| s.calls),
                    "errors": stats.map_or(0, |s| s.error_count()),
                })
            })
            .collect();
        writeln!(io.out, "{}", pretty(&serde_json::Value::Array(items)))?;
        return Ok(EXIT_OK);
    }
    let rows: Vec<[String; 5]> = hooks
        .iter()
        .map(|h| {
            let stats = h.stats.as_ref().map(|s| &s.stats);
            [
                h.name().to_string(),
                h.attachments.len().to_string(),
                stats.map_or(0, |s| s.calls).to_string(),
                stats.map_or(0, |s| s.error_count()).to_string(),
                first_sentence(&h.descriptor.summary()),
            ]
        })
        .collect();
    let header = ["HOOK", "ATTACHED", "CALLS", "ERRORS", "SUMMARY"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        writeln!(
            io.out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        )?;
    }
    if rows.is_empty() {
        writeln!(io.out, "(no hooks are declared in this program)")?;
    }
    Ok(EXIT_OK)
}

/// The summary up to its first full stop (outside backquotes), for a one-line listing.
fn first_sentence(summary: &str) -> String {
    let mut code = false;
    let mut chars = summary.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' => code = !code,
            '.' if !code && chars.peek().is_none_or(|(_, n)| n.is_whitespace()) => {
                return summary[..=i].to_string();
            }
            _ => {}
        }
    }
    summary.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_sentence() {
        assert_eq!(
            super::first_sentence("One `a. b` two. Three."),
            "One `a. b` two."
        );
        assert_eq!(super::first_sentence("No stop"), "No stop");
        assert_eq!(super::first_sentence("v1.2 is out. Yes."), "v1.2 is out.");
    }
}
