//! `HookError`: what went wrong in a hook call, and where.

use std::fmt;
use std::sync::Arc;

use crate::codec::DecodeError;

/// What kind of failure a [`HookError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The script file could not be read.
    Io,
    /// The script does not compile (Lua syntax error).
    Syntax,
    /// The script raised an error while running (`error()`, a nil index, ...).
    Runtime,
    /// The script ran past its instruction budget.
    InstructionLimit,
    /// The script ran past its wall-clock deadline.
    Deadline,
    /// The script's Lua state ran out of its memory cap.
    Memory,
    /// A returned value had the wrong shape for the Rust type it decodes into.
    Decode,
    /// An argument could not be encoded for Lua.
    Encode,
    /// The function does not exist in the script (or is not a function).
    MissingFunction,
    /// The function did not return exactly one table.
    NotATable,
    /// The hook name is not declared in this program.
    UnknownHook,
    /// A configuration problem (attachment file, duplicate names, options).
    Config,
}

impl ErrorKind {
    /// Every kind, in a fixed order (used by stats).
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Io,
        ErrorKind::Syntax,
        ErrorKind::Runtime,
        ErrorKind::InstructionLimit,
        ErrorKind::Deadline,
        ErrorKind::Memory,
        ErrorKind::Decode,
        ErrorKind::Encode,
        ErrorKind::MissingFunction,
        ErrorKind::NotATable,
        ErrorKind::UnknownHook,
        ErrorKind::Config,
    ];

    /// A short stable name (`syntax`, `runtime`, `instruction_limit`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Syntax => "syntax",
            ErrorKind::Runtime => "runtime",
            ErrorKind::InstructionLimit => "instruction_limit",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Memory => "memory",
            ErrorKind::Decode => "decode",
            ErrorKind::Encode => "encode",
            ErrorKind::MissingFunction => "missing_function",
            ErrorKind::NotATable => "not_a_table",
            ErrorKind::UnknownHook => "unknown_hook",
            ErrorKind::Config => "config",
        }
    }

    /// Whether the script was stopped by a limit (instructions, deadline, memory).
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            ErrorKind::InstructionLimit | ErrorKind::Deadline | ErrorKind::Memory
        )
    }

    pub(crate) fn index(self) -> usize {
        ErrorKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed hook call, script load or attachment.
///
/// It says which hook, script, function and line, and carries the Lua traceback.
/// `Display` is one readable line; `Debug` adds the traceback.
///
/// ```
/// use frrhook::{ErrorKind, HookError};
/// let e = HookError::new(ErrorKind::Runtime, "boom")
///     .with_hook("bgp.route_match")
///     .with_script("policy")
///     .with_function("route_match")
///     .with_line(12);
/// assert_eq!(
///     e.to_string(),
///     "bgp.route_match: policy.lua:12 in route_match: runtime error: boom"
/// );
/// ```
#[derive(Clone)]
pub struct HookError(Box<Inner>);

/// Boxed so that `Result<_, HookError>`, which every hook call returns, stays small.
#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    hook: Option<Arc<str>>,
    script: Option<Arc<str>>,
    function: Option<Arc<str>>,
    line: Option<u32>,
    traceback: Option<String>,
    decode: Option<Box<DecodeError>>,
}

impl HookError {
    /// A new error of `kind` with `message` and no location.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        HookError(Box::new(Inner {
            kind,
            message: message.into(),
            hook: None,
            script: None,
            function: None,
            line: None,
            traceback: None,
            decode: None,
        }))
    }

    /// A decode error, keeping the structured [`DecodeError`].
    pub fn from_decode(e: DecodeError) -> Self {
        let mut h = HookError::new(ErrorKind::Decode, e.to_string());
        h.0.decode = Some(Box::new(e));
        h
    }

    /// Sets the hook name.
    #[must_use]
    pub fn with_hook(mut self, hook: impl Into<Arc<str>>) -> Self {
        self.0.hook = Some(hook.into());
        self
    }
    /// Sets the script name (without `.lua`).
    #[must_use]
    pub fn with_script(mut self, script: impl Into<Arc<str>>) -> Self {
        self.0.script = Some(script.into());
        self
    }
    /// Sets the Lua function name.
    #[must_use]
    pub fn with_function(mut self, function: impl Into<Arc<str>>) -> Self {
        self.0.function = Some(function.into());
        self
    }
    /// Sets the script line.
    #[must_use]
    pub fn with_line(mut self, line: u32) -> Self {
        self.0.line = Some(line);
        self
    }
    /// Sets the line if none is known yet.
    #[must_use]
    pub fn or_line(mut self, line: Option<u32>) -> Self {
        if self.0.line.is_none() {
            self.0.line = line;
        }
        self
    }
    /// Sets the Lua traceback.
    #[must_use]
    pub fn with_traceback(mut self, tb: impl Into<String>) -> Self {
        self.0.traceback = Some(tb.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// The message without location.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// The hook, if the error happened in a hook call or attachment.
    pub fn hook(&self) -> Option<&str> {
        self.0.hook.as_deref()
    }
    /// The script name (without `.lua`).
    pub fn script(&self) -> Option<&str> {
        self.0.script.as_deref()
    }
    /// The Lua function.
    pub fn function(&self) -> Option<&str> {
        self.0.function.as_deref()
    }
    /// The line in the script, when Lua reported one.
    pub fn line(&self) -> Option<u32> {
        self.0.line
    }
    /// The Lua traceback, when there is one.
    pub fn traceback(&self) -> Option<&str> {
        self.0.traceback.as_deref()
    }
    /// The structured decode error, for [`ErrorKind::Decode`].
    pub fn decode_error(&self) -> Option<&DecodeError> {
        self.0.decode.as_deref()
    }
    /// Whether a limit stopped the script.
    pub fn is_limit(&self) -> bool {
        self.0.kind.is_limit()
    }

    fn kind_phrase(&self) -> &'static str {
        match self.0.kind {
            ErrorKind::Io => "cannot read script",
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Runtime => "runtime error",
            ErrorKind::InstructionLimit => "instruction limit exceeded",
            ErrorKind::Deadline => "deadline exceeded",
            ErrorKind::Memory => "memory limit exceeded",
            ErrorKind::Decode => "bad result",
            ErrorKind::Encode => "cannot encode argument",
            ErrorKind::MissingFunction => "missing function",
            ErrorKind::NotATable => "bad return",
            ErrorKind::UnknownHook => "unknown hook",
            ErrorKind::Config => "configuration error",
        }
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(h) = &self.0.hook {
            write!(f, "{h}: ")?;
        }
        match (&self.0.script, self.0.line) {
            (Some(s), Some(l)) => write!(f, "{s}.lua:{l}")?,
            (Some(s), None) => write!(f, "{s}.lua")?,
            (None, Some(l)) => write!(f, "line {l}")?,
            (None, None) => {}
        }
        if let Some(func) = &self.0.function {
            if self.0.script.is_some() || self.0.line.is_some() {
                f.write_str(" ")?;
            }
            write!(f, "in {func}")?;
        }
        if self.0.script.is_some() || self.0.line.is_some() || self.0.function.is_some() {
            f.write_str(": ")?;
        }
        write!(f, "{}: {}", self.kind_phrase(), self.0.message)
    }
}

impl fmt::Debug for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookError({}) {self}", self.0.kind)?;
        if let Some(tb) = &self.0.traceback {
            write!(f, "\n{tb}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HookError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.decode.as_deref().map(|e| e as _)
    }
}
