//! Turning mlua errors into `HookError`s with a script line and a traceback.

use crate::{ErrorKind, HookError};

/// Splits mlua's "message\nstack traceback:\n..." into both parts.
fn split_traceback(s: &str) -> (&str, Option<&str>) {
    match s.find("\nstack traceback:") {
        Some(i) => (&s[..i], Some(s[i + 1..].trim_end())),
        None => (s, None),
    }
}

/// Finds `<chunk>:<line>:` for our script's chunk name at the start of `s` or in a
/// traceback line, and returns the line with the rest of the text.
fn find_line<'a>(s: &'a str, chunk: &str) -> Option<(u32, &'a str)> {
    let pat = format!("{chunk}:");
    let mut from = 0;
    while let Some(pos) = s[from..].find(&pat) {
        let start = from + pos + pat.len();
        let digits: String = s[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if !digits.is_empty()
            && s[start + digits.len()..].starts_with(':')
            && let Ok(line) = digits.parse()
        {
            let rest = s[start + digits.len() + 1..].trim_start();
            return Some((line, rest));
        }
        from = start;
    }
    None
}

/// The chunk name Lua prints for script `name` (we load scripts as `=name.lua`).
pub(crate) fn chunk_name(script: &str) -> String {
    format!("{script}.lua")
}

/// Converts an mlua error raised while loading or running script `script`.
///
/// `kind_hint` overrides the kind (used when a limit tripped: whatever error surfaced,
/// the call was stopped by the limit).
pub(crate) fn convert(err: &mlua::Error, script: &str, kind_hint: Option<ErrorKind>) -> HookError {
    let chunk = chunk_name(script);
    let (kind, text) = match err {
        mlua::Error::SyntaxError { message, .. } => (ErrorKind::Syntax, message.clone()),
        mlua::Error::RuntimeError(m) => (ErrorKind::Runtime, m.clone()),
        mlua::Error::MemoryError(m) => (ErrorKind::Memory, m.clone()),
        mlua::Error::CallbackError { traceback, cause } => {
            // An error raised by a Rust callback (log, shared, ...) or a nested error.
            let inner = convert(cause, script, None);
            let text = format!("{}\n{}", inner.message(), traceback);
            let kind = if inner.kind() == ErrorKind::Memory {
                ErrorKind::Memory
            } else {
                ErrorKind::Runtime
            };
            (kind, text)
        }
        mlua::Error::WithContext { context, cause } => {
            let inner = convert(cause, script, kind_hint);
            return HookError::new(inner.kind(), format!("{context}: {}", inner.message()))
                .with_script(script)
                .or_line(inner.line());
        }
        other => (ErrorKind::Runtime, other.to_string()),
    };
    let kind = kind_hint.unwrap_or(kind);
    let (head, traceback) = split_traceback(&text);
    let (line, message) = match find_line(head, &chunk) {
        Some((line, rest)) if head.starts_with(&chunk) => (Some(line), rest.to_string()),
        _ => (
            traceback
                .and_then(|tb| find_line(tb, &chunk))
                .map(|(l, _)| l),
            head.to_string(),
        ),
    };
    let mut e = HookError::new(kind, message.trim_end().to_string())
        .with_script(script)
        .or_line(line);
    if let Some(tb) = traceback {
        e = e.with_traceback(tb);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_in_a_runtime_message() {
        let err = mlua::Error::RuntimeError(
            "p.lua:7: Something bad!\nstack traceback:\n\t[C]: in function 'error'\n\tp.lua:7: in function 'f'".into(),
        );
        let e = convert(&err, "p", None);
        assert_eq!(
            (e.kind(), e.line(), e.message()),
            (ErrorKind::Runtime, Some(7), "Something bad!")
        );
        assert!(e.traceback().unwrap().starts_with("stack traceback:"));
    }

    #[test]
    fn takes_the_line_from_the_traceback_when_the_message_has_none() {
        let err = mlua::Error::RuntimeError(
            "table: 0x55\nstack traceback:\n\t[C]: in function 'error'\n\tp.lua:3: in function 'f'"
                .into(),
        );
        let e = convert(&err, "p", None);
        assert_eq!((e.line(), e.message()), (Some(3), "table: 0x55"));
    }
}
