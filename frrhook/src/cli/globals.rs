//! Which globals a script reads: a Lua 5.4 lexer and a recursive-descent walk of the
//! grammar that tracks scopes, for `check`.
//!
//! Lua resolves a free name to `_ENV.name` at run time, so the only reliable way to find
//! global reads without running the script is to parse it. The walk follows the Lua 5.4
//! grammar (statements, expressions, table constructors, function bodies) and keeps a
//! stack of block scopes with the names declared `local`, the parameters of enclosing
//! functions (and `self` of methods) and `for` variables, with Lua's rule that a `local`
//! statement's names are in scope only after the statement (`local os = os` reads the
//! global `os`) while a `local function`'s name is visible in its own body.
//!
//! A name in an expression that no scope declares is a **global read**; a bare name on
//! the left of `=` or after `function` is a **global write**. Field names (after `.` or
//! `:`, and `name =` keys in table constructors) are neither. The walk runs only on
//! scripts Lua has compiled; should it meet something it does not expect, it stops and
//! `check` says the analysis was skipped instead of guessing.
//!
//! What it cannot know: globals a script reaches indirectly (`_ENV[name]`, `_G[name]`,
//! `rawget(_G, ...)`), and whether a global written in one function exists by the time
//! another reads it. `check` treats every global the script writes anywhere as defined.

use std::collections::BTreeSet;

/// A global read: the name, the line, and the innermost named function around it
/// (`None` at the top level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlobalRead {
    pub(crate) name: String,
    pub(crate) line: u32,
    pub(crate) function: Option<String>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Globals {
    /// Every global read, in source order.
    pub(crate) reads: Vec<GlobalRead>,
    /// Every global written (assigned, or defined with `function name`).
    pub(crate) writes: BTreeSet<String>,
}

/// Finds the global reads and writes of `source`.
pub(crate) fn scan(source: &str) -> Result<Globals, String> {
    let toks = lex(source)?;
    let mut p = Parser {
        toks,
        pos: 0,
        scopes: vec![Vec::new()],
        funcs: Vec::new(),
        out: Globals::default(),
    };
    p.block()?;
    if !p.at_eof() {
        return Err(p.unexpected());
    }
    Ok(p.out)
}

// --------------------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Kw(&'static str),
    Op(&'static str),
    Str,
    Num,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
}

const KEYWORDS: [&str; 22] = [
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

const OPS: [&str; 33] = [
    "...", "..", "::", "==", "~=", "<=", ">=", "//", "<<", ">>", "+", "-", "*", "/", "%", "^", "#",
    "&", "~", "|", "<", ">", "=", "(", ")", "{", "}", "[", "]", ";", ":", ",", ".",
];

struct Lexer<'s> {
    s: &'s [u8],
    i: usize,
    line: u32,
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> u8 {
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    /// Advances one byte, counting lines (`\n`, `\r`, `\r\n`, `\n\r` are one each).
    fn bump(&mut self) {
        let c = self.peek(0);
        self.i += 1;
        if c == b'\n' || c == b'\r' {
            let d = self.peek(0);
            if (d == b'\n' || d == b'\r') && d != c {
                self.i += 1;
            }
            self.line += 1;
        }
    }

    /// At `[`: the level of a long bracket `[==[`, if that is one.
    fn long_bracket_level(&self) -> Option<usize> {
        let mut k = 1;
        while self.peek(k) == b'=' {
            k += 1;
        }
        (self.peek(k) == b'[').then_some(k - 1)
    }

    /// Skips a long bracket of `level` starting at `[`.
    fn skip_long(&mut self, level: usize) -> Result<(), String> {
        let start = self.line;
        self.i += level + 2;
        loop {
            if self.i >= self.s.len() {
                return Err(format!(
                    "unfinished long string or comment from line {start}"
                ));
            }
            if self.peek(0) == b']' {
                let mut k = 1;
                while self.peek(k) == b'=' {
                    k += 1;
                }
                if k - 1 == level && self.peek(k) == b']' {
                    self.i += k + 1;
                    return Ok(());
                }
                self.i += 1;
            } else {
                self.bump();
            }
        }
    }
}

fn lex(source: &str) -> Result<Vec<Token>, String> {
    let mut lx = Lexer {
        s: source.as_bytes(),
        i: 0,
        line: 1,
    };
    // A first line starting with `#` is skipped by Lua.
    if lx.peek(0) == b'#' {
        while lx.i < lx.s.len() && !matches!(lx.peek(0), b'\n' | b'\r') {
            lx.i += 1;
        }
    }
    let mut out = Vec::new();
    while lx.i < lx.s.len() {
        let c = lx.peek(0);
        let line = lx.line;
        match c {
            b'\n' | b'\r' | b' ' | b'\t' | 0x0b | 0x0c => lx.bump(),
            b'-' if lx.peek(1) == b'-' => {
                lx.i += 2;
                if lx.peek(0) == b'['
                    && let Some(level) = lx.long_bracket_level()
                {
                    lx.skip_long(level)?;
                } else {
                    while lx.i < lx.s.len() && !matches!(lx.peek(0), b'\n' | b'\r') {
                        lx.i += 1;
                    }
                }
            }
            b'[' if lx.long_bracket_level().is_some() => {
                let level = lx.long_bracket_level().unwrap_or(0);
                lx.skip_long(level)?;
                out.push(Token {
                    tok: Tok::Str,
                    line,
                });
            }
            b'"' | b'\'' => {
                lx.i += 1;
                loop {
                    match lx.peek(0) {
                        0 if lx.i >= lx.s.len() => {
                            return Err(format!("unfinished string on line {line}"));
                        }
                        b'\\' => {
                            lx.i += 1;
                            lx.bump();
                        }
                        q if q == c => {
                            lx.i += 1;
                            break;
                        }
                        _ => lx.bump(),
                    }
                }
                out.push(Token {
                    tok: Tok::Str,
                    line,
                });
            }
            b'0'..=b'9' => {
                lex_number(&mut lx);
                out.push(Token {
                    tok: Tok::Num,
                    line,
                });
            }
            b'.' if lx.peek(1).is_ascii_digit() => {
                lex_number(&mut lx);
                out.push(Token {
                    tok: Tok::Num,
                    line,
                });
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let start = lx.i;
                while lx.peek(0) == b'_' || lx.peek(0).is_ascii_alphanumeric() {
                    lx.i += 1;
                }
                let word = &source[start..lx.i];
                let tok = match KEYWORDS.iter().find(|k| **k == word) {
                    Some(k) => Tok::Kw(k),
                    None => Tok::Name(word.to_string()),
                };
                out.push(Token { tok, line });
            }
            _ => {
                let rest = &lx.s[lx.i..];
                let op = OPS
                    .iter()
                    .find(|op| rest.starts_with(op.as_bytes()))
                    .ok_or_else(|| {
                        format!("unexpected character {:?} on line {line}", c as char)
                    })?;
                lx.i += op.len();
                out.push(Token {
                    tok: Tok::Op(op),
                    line,
                });
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        line: lx.line,
    });
    Ok(out)
}

fn lex_number(lx: &mut Lexer<'_>) {
    let hex = lx.peek(0) == b'0' && matches!(lx.peek(1), b'x' | b'X');
    if hex {
        lx.i += 2;
    }
    let exp: &[u8] = if hex { b"pP" } else { b"eE" };
    loop {
        let c = lx.peek(0);
        if exp.contains(&c) {
            lx.i += 1;
            if matches!(lx.peek(0), b'+' | b'-') {
                lx.i += 1;
            }
        } else if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' {
            lx.i += 1;
        } else {
            break;
        }
    }
}

// --------------------------------------------------------------------------- parser

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Block scopes, innermost last; each holds the names it declares.
    scopes: Vec<Vec<String>>,
    /// Names of the enclosing functions, innermost last.
    funcs: Vec<String>,
    out: Globals,
}

type R = Result<(), String>;

impl Parser {
    fn tok(&self) -> &Tok {
        &self.toks[self.pos].tok
    }
    fn line(&self) -> u32 {
        self.toks[self.pos].line
    }
    fn at_eof(&self) -> bool {
        matches!(self.tok(), Tok::Eof)
    }
    fn advance(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.tok(), Tok::Kw(x) if *x == k)
    }
    fn is_op(&self, o: &str) -> bool {
        matches!(self.tok(), Tok::Op(x) if *x == o)
    }
    fn unexpected(&self) -> String {
        format!("unexpected {:?} on line {}", self.tok(), self.line())
    }
    fn eat_kw(&mut self, k: &str) -> R {
        if self.is_kw(k) {
            self.advance();
            Ok(())
        } else {
            Err(format!("expected `{k}`: {}", self.unexpected()))
        }
    }
    fn eat_op(&mut self, o: &str) -> R {
        if self.is_op(o) {
            self.advance();
            Ok(())
        } else {
            Err(format!("expected `{o}`: {}", self.unexpected()))
        }
    }
    fn name(&mut self) -> Result<String, String> {
        match self.tok().clone() {
            Tok::Name(n) => {
                self.advance();
                Ok(n)
            }
            _ => Err(format!("expected a name: {}", self.unexpected())),
        }
    }

    fn is_local(&self, name: &str) -> bool {
        name == "_ENV"
            || self
                .scopes
                .iter()
                .rev()
                .any(|s| s.iter().any(|n| n == name))
    }
    fn declare(&mut self, name: String) {
        if let Some(s) = self.scopes.last_mut() {
            s.push(name);
        }
    }
    fn read(&mut self, name: String, line: u32) {
        if !self.is_local(&name) {
            self.out.reads.push(GlobalRead {
                name,
                line,
                function: self.funcs.last().cloned(),
            });
        }
    }
    fn write(&mut self, name: String) {
        if !self.is_local(&name) {
            self.out.writes.insert(name);
        }
    }

    fn block_end(&self) -> bool {
        matches!(
            self.tok(),
            Tok::Eof | Tok::Kw("end" | "else" | "elseif" | "until")
        )
    }

    /// `{stat} [retstat]`, in the current scope.
    fn block(&mut self) -> R {
        while !self.block_end() {
            if self.is_kw("return") {
                self.advance();
                if !self.block_end() && !self.is_op(";") {
                    self.exprlist()?;
                }
                if self.is_op(";") {
                    self.advance();
                }
                return Ok(());
            }
            self.statement()?;
        }
        Ok(())
    }

    /// A block in a scope of its own, with `names` declared in it.
    fn scoped_block(&mut self, names: Vec<String>) -> R {
        self.scopes.push(names);
        let r = self.block();
        self.scopes.pop();
        r
    }

    fn statement(&mut self) -> R {
        match self.tok().clone() {
            Tok::Op(";") => self.advance(),
            Tok::Op("::") => {
                self.advance();
                self.name()?;
                self.eat_op("::")?;
            }
            Tok::Kw("break") => self.advance(),
            Tok::Kw("goto") => {
                self.advance();
                self.name()?;
            }
            Tok::Kw("do") => {
                self.advance();
                self.scoped_block(Vec::new())?;
                self.eat_kw("end")?;
            }
            Tok::Kw("while") => {
                self.advance();
                self.expr()?;
                self.eat_kw("do")?;
                self.scoped_block(Vec::new())?;
                self.eat_kw("end")?;
            }
            Tok::Kw("repeat") => {
                self.advance();
                // The `until` condition sees the block's locals.
                self.scopes.push(Vec::new());
                let r = self
                    .block()
                    .and_then(|()| self.eat_kw("until"))
                    .and_then(|()| self.expr());
                self.scopes.pop();
                r?;
            }
            Tok::Kw("if") => {
                self.advance();
                self.expr()?;
                self.eat_kw("then")?;
                self.scoped_block(Vec::new())?;
                loop {
                    if self.is_kw("elseif") {
                        self.advance();
                        self.expr()?;
                        self.eat_kw("then")?;
                        self.scoped_block(Vec::new())?;
                    } else if self.is_kw("else") {
                        self.advance();
                        self.scoped_block(Vec::new())?;
                    } else {
                        break;
                    }
                }
                self.eat_kw("end")?;
            }
            Tok::Kw("for") => {
                self.advance();
                let first = self.name()?;
                let mut names = vec![first];
                if self.is_op("=") {
                    self.advance();
                    self.exprlist()?;
                } else {
                    while self.is_op(",") {
                        self.advance();
                        names.push(self.name()?);
                    }
                    self.eat_kw("in")?;
                    self.exprlist()?;
                }
                self.eat_kw("do")?;
                self.scoped_block(names)?;
                self.eat_kw("end")?;
            }
            Tok::Kw("function") => {
                self.advance();
                let line = self.line();
                let base = self.name()?;
                let mut full = base.clone();
                let mut method = false;
                let mut dotted = false;
                while self.is_op(".") || self.is_op(":") {
                    method = self.is_op(":");
                    dotted = true;
                    self.advance();
                    full.push(if method { ':' } else { '.' });
                    full.push_str(&self.name()?);
                    if method {
                        break;
                    }
                }
                if dotted {
                    self.read(base, line);
                } else {
                    self.write(base);
                }
                self.funcbody(full, method)?;
            }
            Tok::Kw("local") => {
                self.advance();
                if self.is_kw("function") {
                    self.advance();
                    let name = self.name()?;
                    self.declare(name.clone());
                    self.funcbody(name, false)?;
                } else {
                    let mut names = vec![self.attname()?];
                    while self.is_op(",") {
                        self.advance();
                        names.push(self.attname()?);
                    }
                    if self.is_op("=") {
                        self.advance();
                        self.exprlist()?;
                    }
                    for n in names {
                        self.declare(n);
                    }
                }
            }
            _ => self.exprstat()?,
        }
        Ok(())
    }

    /// `Name [<attrib>]`.
    fn attname(&mut self) -> Result<String, String> {
        let n = self.name()?;
        if self.is_op("<") {
            self.advance();
            self.name()?;
            self.eat_op(">")?;
        }
        Ok(n)
    }

    /// An assignment or a function call.
    fn exprstat(&mut self) -> R {
        let mut targets = vec![self.suffixedexp()?];
        if !self.is_op("=") && !self.is_op(",") {
            // A call; a bare name here would not have compiled.
            if let Some((n, line)) = targets.pop().flatten() {
                self.read(n, line);
            }
            return Ok(());
        }
        while self.is_op(",") {
            self.advance();
            targets.push(self.suffixedexp()?);
        }
        self.eat_op("=")?;
        self.exprlist()?;
        for (n, _) in targets.into_iter().flatten() {
            self.write(n);
        }
        Ok(())
    }

    /// `(params) block end`, in a new function scope named `name`.
    fn funcbody(&mut self, name: String, method: bool) -> R {
        self.eat_op("(")?;
        let mut params = Vec::new();
        if method {
            params.push("self".to_string());
        }
        while !self.is_op(")") {
            if self.is_op("...") {
                self.advance();
            } else {
                params.push(self.name()?);
            }
            if self.is_op(",") {
                self.advance();
            } else {
                break;
            }
        }
        self.eat_op(")")?;
        self.funcs.push(name);
        let r = self.scoped_block(params);
        self.funcs.pop();
        r?;
        self.eat_kw("end")
    }

    fn exprlist(&mut self) -> R {
        self.expr()?;
        while self.is_op(",") {
            self.advance();
            self.expr()?;
        }
        Ok(())
    }

    fn is_binop(&self) -> bool {
        match self.tok() {
            Tok::Kw(k) => matches!(*k, "and" | "or"),
            Tok::Op(o) => matches!(
                *o,
                "+" | "-"
                    | "*"
                    | "/"
                    | "//"
                    | "%"
                    | "^"
                    | ".."
                    | "=="
                    | "~="
                    | "<"
                    | "<="
                    | ">"
                    | ">="
                    | "&"
                    | "|"
                    | "~"
                    | "<<"
                    | ">>"
            ),
            _ => false,
        }
    }

    fn expr(&mut self) -> R {
        self.operand()?;
        while self.is_binop() {
            self.advance();
            self.operand()?;
        }
        Ok(())
    }

    /// `{unop} simpleexp`.
    fn operand(&mut self) -> R {
        while self.is_kw("not") || self.is_op("-") || self.is_op("#") || self.is_op("~") {
            self.advance();
        }
        match self.tok().clone() {
            Tok::Num | Tok::Str | Tok::Kw("nil" | "true" | "false") | Tok::Op("...") => {
                self.advance();
                Ok(())
            }
            Tok::Op("{") => self.table(),
            Tok::Kw("function") => {
                self.advance();
                let name = self
                    .funcs
                    .last()
                    .map_or_else(|| "(anonymous)".to_string(), |f| format!("{f} (anonymous)"));
                self.funcbody(name, false)
            }
            _ => {
                if let Some((n, line)) = self.suffixedexp()? {
                    self.read(n, line);
                }
                Ok(())
            }
        }
    }

    /// `primaryexp {suffix}`. Returns the name when the expression is a bare name (not
    /// yet recorded: a read or a write, as the caller decides).
    fn suffixedexp(&mut self) -> Result<Option<(String, u32)>, String> {
        let mut bare = match self.tok().clone() {
            Tok::Name(n) => {
                let line = self.line();
                self.advance();
                Some((n, line))
            }
            Tok::Op("(") => {
                self.advance();
                self.expr()?;
                self.eat_op(")")?;
                None
            }
            _ => return Err(self.unexpected()),
        };
        loop {
            let suffix = matches!(self.tok(), Tok::Op("." | ":" | "[" | "(" | "{") | Tok::Str);
            if !suffix {
                return Ok(bare);
            }
            if let Some((n, line)) = bare.take() {
                self.read(n, line);
            }
            match self.tok().clone() {
                Tok::Op(".") => {
                    self.advance();
                    self.name()?;
                }
                Tok::Op(":") => {
                    self.advance();
                    self.name()?;
                    self.args()?;
                }
                Tok::Op("[") => {
                    self.advance();
                    self.expr()?;
                    self.eat_op("]")?;
                }
                _ => self.args()?,
            }
        }
    }

    /// `(explist)`, a table constructor, or a string.
    fn args(&mut self) -> R {
        match self.tok() {
            Tok::Str => {
                self.advance();
                Ok(())
            }
            Tok::Op("{") => self.table(),
            Tok::Op("(") => {
                self.advance();
                if !self.is_op(")") {
                    self.exprlist()?;
                }
                self.eat_op(")")
            }
            _ => Err(self.unexpected()),
        }
    }

    fn table(&mut self) -> R {
        self.eat_op("{")?;
        while !self.is_op("}") {
            if self.is_op("[") {
                self.advance();
                self.expr()?;
                self.eat_op("]")?;
                self.eat_op("=")?;
                self.expr()?;
            } else if matches!(self.tok(), Tok::Name(_))
                && matches!(
                    self.toks.get(self.pos + 1).map(|t| &t.tok),
                    Some(Tok::Op("="))
                )
            {
                self.advance();
                self.advance();
                self.expr()?;
            } else {
                self.expr()?;
            }
            if self.is_op(",") || self.is_op(";") {
                self.advance();
            } else {
                break;
            }
        }
        self.eat_op("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(src: &str) -> Vec<(String, u32, Option<String>)> {
        scan(src)
            .unwrap()
            .reads
            .into_iter()
            .map(|r| (r.name, r.line, r.function))
            .collect()
    }

    fn names(src: &str) -> Vec<String> {
        reads(src).into_iter().map(|r| r.0).collect()
    }

    #[test]
    fn locals_params_and_fields_are_not_globals() {
        let src = r#"
local a, b <const> = 1, 2
function f(x, y, ...)
  local t = { k = x, [y] = a, b }
  t.field = os.time()
  for i = 1, #t do print(i) end
  for k, v in pairs(t) do local _ = k .. v end
  return t:method(z), ("s"):upper()
end
"#;
        assert_eq!(names(src), ["os", "print", "pairs", "z"]);
        let r = reads(src);
        assert_eq!(r[0], ("os".into(), 5, Some("f".into())));
    }

    #[test]
    fn a_local_is_in_scope_after_its_statement() {
        assert_eq!(names("local os = os\nlocal x = os"), ["os"]);
        // A local function sees itself; a local assigned a function does not.
        assert_eq!(
            names("local function f() return f() end"),
            Vec::<String>::new()
        );
        assert_eq!(names("local g = function() return g() end"), ["g"]);
    }

    #[test]
    fn block_scopes_end() {
        let src = "do local x = 1 end\nreturn x";
        assert_eq!(reads(src), [("x".into(), 2, None)]);
        assert_eq!(
            names("repeat local done = true until done"),
            Vec::<String>::new()
        );
        assert_eq!(
            names("if c then local v = 1 elseif d then v = 2 else w() end"),
            ["c", "d", "w"]
        );
    }

    #[test]
    fn writes_and_methods() {
        let g = scan(
            "function M.f() end\nfunction obj:m() return self end\ncount = 1\nfunction top() end",
        )
        .unwrap();
        let read: Vec<_> = g.reads.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(read, ["M", "obj"]);
        assert_eq!(
            g.writes.into_iter().collect::<Vec<_>>(),
            ["count".to_string(), "top".to_string()]
        );
    }

    #[test]
    fn comments_strings_and_numbers_are_skipped() {
        let src = "#!/usr/bin/lua\n--[==[ os\n io ]==] -- io\nlocal s = [[ os ]] .. 'io\\'' .. \"x\\\"y\"\nlocal n = 0x1p4 + 3e-2 + .5 + 0xff\nreturn nope";
        assert_eq!(reads(src), [("nope".into(), 6, None)]);
    }

    #[test]
    fn nested_and_anonymous_functions_are_named() {
        let src = "function outer()\n  local function inner() return io end\n  return function() return debug end\nend";
        let r = reads(src);
        assert_eq!(r[0], ("io".into(), 2, Some("inner".into())));
        assert_eq!(r[1], ("debug".into(), 3, Some("outer (anonymous)".into())));
    }
}
