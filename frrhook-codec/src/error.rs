use std::borrow::Cow;
use std::fmt;

/// One step of the path from a decoded root to a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A string key: `.name` (or `["odd key"]` when it is not an identifier).
    Key(String),
    /// A 1-based sequence index: `[3]`.
    Index(u64),
}

/// What went wrong while decoding, without the path.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The Lua value had the wrong type: `expected string, got boolean`.
    Type {
        /// What the Rust type accepts, in Lua words (`integer`, `table`, `prefix`).
        expected: Cow<'static, str>,
        /// What was found: the Lua type name, with the value when it is short.
        found: String,
    },
    /// A number outside the range of the Rust integer type, or not integral.
    Range {
        /// The accepted range, such as `integer in 0..=255 (u8)`.
        expected: Cow<'static, str>,
        /// The value found, as Lua would print it.
        found: String,
    },
    /// A key that the Rust type requires was absent (or nil).
    MissingField(Cow<'static, str>),
    /// The value had the right type but not an accepted form (a bad prefix string, an
    /// unknown enum variant, invalid UTF-8).
    Invalid(String),
    /// Tables nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH), usually a cycle.
    TooDeep,
}

/// A decoding failure with the path to the bad value.
///
/// `Display` renders `path: message`, for example
/// `attributes.communities[3]: expected string, got boolean`. The path is built while
/// the error travels up through the decoders, so success costs nothing for it.
///
/// ```
/// use frrhook_codec::{DecodeError, DecodeErrorKind};
/// let e = DecodeError::type_mismatch("string", "boolean".to_string())
///     .at_index(3)
///     .at_key("communities")
///     .at_key("attributes");
/// assert_eq!(e.to_string(), "attributes.communities[3]: expected string, got boolean");
/// ```
///
/// One pointer wide (the details are boxed), so that every decoder's `Result` stays
/// small on the success path.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(Box<Details>);

#[derive(Debug, Clone, PartialEq)]
struct Details {
    kind: DecodeErrorKind,
    /// Stored innermost first; displayed outermost first.
    path: Vec<PathSegment>,
}

impl DecodeError {
    /// An error of `kind` at the root.
    pub fn new(kind: DecodeErrorKind) -> Self {
        DecodeError(Box::new(Details {
            kind,
            path: Vec::new(),
        }))
    }

    /// `expected EXPECTED, got FOUND`.
    pub fn type_mismatch(expected: impl Into<Cow<'static, str>>, found: String) -> Self {
        Self::new(DecodeErrorKind::Type {
            expected: expected.into(),
            found,
        })
    }

    /// A value of the right Lua type but an unaccepted form.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(DecodeErrorKind::Invalid(message.into()))
    }

    /// A required key was absent.
    pub fn missing(field: impl Into<Cow<'static, str>>) -> Self {
        Self::new(DecodeErrorKind::MissingField(field.into()))
    }

    /// Places the error under string key `key` (call from the inside out).
    #[must_use]
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.0.path.push(PathSegment::Key(key.into()));
        self
    }

    /// Places the error under 1-based index `index` (call from the inside out).
    #[must_use]
    pub fn at_index(mut self, index: u64) -> Self {
        self.0.path.push(PathSegment::Index(index));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// The path from the root to the bad value, outermost first.
    pub fn path(&self) -> impl Iterator<Item = &PathSegment> {
        self.0.path.iter().rev()
    }

    /// The path rendered as in `Display`, empty at the root.
    pub fn path_string(&self) -> String {
        let mut s = String::new();
        for seg in self.path() {
            match seg {
                PathSegment::Key(k) if is_identifier(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                PathSegment::Key(k) => {
                    s.push_str(&format!("[{k:?}]"));
                }
                PathSegment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Type { expected, found } => {
                write!(f, "expected {expected}, got {found}")
            }
            DecodeErrorKind::Range { expected, found } => {
                write!(f, "expected {expected}, got {found}")
            }
            DecodeErrorKind::MissingField(name) => write!(f, "missing required field `{name}`"),
            DecodeErrorKind::Invalid(msg) => f.write_str(msg),
            DecodeErrorKind::TooDeep => write!(
                f,
                "tables nested deeper than {} levels (is the table cyclic?)",
                crate::MAX_DEPTH
            ),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path_string();
        if path.is_empty() {
            write!(f, "{}", self.0.kind)
        } else {
            write!(f, "{path}: {}", self.0.kind)
        }
    }
}

impl std::error::Error for DecodeError {}
