//! The OData 4 `$filter` subset that the panel and Creatio's own UI send (CREATIO.md §3.1, §4.3):
//! `eq ne gt ge lt le`, `and or not`, parentheses, `startswith endswith contains` and
//! `tolower toupper trim`, literals (`'text'` with `''` escapes, integers, `true`, `false`,
//! `null`, unquoted GUIDs, unquoted `2024-01-01T00:00:00Z` instants) and property paths through
//! lookups (`Contact/Type/Id`).
//!
//! A small recursive-descent parser builds an [`Expr`]; [`Expr::check`] then types it against
//! the collection, so a quoted GUID (`Id eq '…'`), an OData 3 literal (`guid'…'`) or an unknown
//! column is refused up front, as Creatio answers 400 to them, and evaluation cannot fail.
//! Text comparisons ignore case, as on Creatio's default SQL Server collation.

use std::cmp::Ordering;
use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::schema::Kind;

/// Nesting deeper than this is refused: the parser recurses, and a filter is a URL.
const MAX_DEPTH: usize = 64;
/// Longer filters are refused: a chain of `or`s builds a tree as deep as it is long, and
/// typing and evaluation recurse over it. The panel's longest filter has about fifty tokens.
const MAX_TOKENS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    Literal(Value),
    /// A property path, segments as written.
    Path(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    StartsWith,
    EndsWith,
    Contains,
    ToLower,
    ToUpper,
    Trim,
}

/// A typed value, from a literal or a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    Guid(Uuid),
    DateTime(OffsetDateTime),
}

/// Why a filter was refused; becomes a 400 OData error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position} of $filter)")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

/// Parses a `$filter` value (already percent-decoded).
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.len(),
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(error(token.position, format!("unexpected {}", token.token))),
    }
}

fn error(position: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        position,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Int(i64),
    Guid(Uuid),
    DateTime(OffsetDateTime),
    Open,
    Close,
    Comma,
    Slash,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "'{w}'"),
            Token::Text(_) => f.write_str("text literal"),
            Token::Int(n) => write!(f, "number {n}"),
            Token::Guid(g) => write!(f, "GUID {g}"),
            Token::DateTime(_) => f.write_str("date literal"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
            Token::Slash => f.write_str("'/'"),
        }
    }
}

#[derive(Debug, Clone)]
struct Spanned {
    token: Token,
    position: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '.'
}

fn lex(text: &str) -> Result<Vec<Spanned>, FilterError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        let position = text.len() - trimmed.len();
        rest = trimmed;
        let Some(first) = rest.chars().next() else {
            return Ok(tokens);
        };
        let (token, used) = match first {
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '/' => (Token::Slash, 1),
            '\'' => lex_text(rest, position)?,
            _ => {
                let word_len = rest
                    .find(|c: char| !is_word_char(c) && c != '-' && c != ':' && c != '+')
                    .unwrap_or(rest.len());
                let candidate = rest.get(..word_len).unwrap_or_default();
                if let Some(token) = guid_or_instant(candidate) {
                    (token, word_len)
                } else if first == '-' || first.is_ascii_digit() {
                    let len = rest
                        .char_indices()
                        .skip(1)
                        .find(|(_, c)| !c.is_ascii_digit())
                        .map_or(rest.len(), |(i, _)| i);
                    let digits = rest.get(..len).unwrap_or_default();
                    if rest.get(len..).is_some_and(|r| r.starts_with('.')) {
                        return Err(error(position, "decimal literals are not supported by the stand-in"));
                    }
                    let n = digits
                        .parse()
                        .map_err(|_| error(position, format!("bad number {digits}")))?;
                    (Token::Int(n), len)
                } else if first.is_alphabetic() || first == '_' || first == '$' {
                    let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
                    let word = rest.get(..len).unwrap_or_default();
                    if rest.get(len..).is_some_and(|r| r.starts_with('\'')) {
                        return Err(error(
                            position,
                            format!("{word}'…' is an OData 3 literal; OData 4 writes GUIDs and dates unquoted"),
                        ));
                    }
                    (Token::Word(word.to_owned()), len)
                } else {
                    return Err(error(position, format!("unexpected character '{first}'")));
                }
            }
        };
        if tokens.len() == MAX_TOKENS {
            return Err(error(
                position,
                format!("the filter is longer than {MAX_TOKENS} tokens"),
            ));
        }
        tokens.push(Spanned { token, position });
        rest = rest.get(used..).unwrap_or_default();
    }
}

/// A quoted literal; `''` inside stands for one quote.
fn lex_text(rest: &str, position: usize) -> Result<(Token, usize), FilterError> {
    let mut value = String::new();
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
                value.push('\'');
            } else {
                return Ok((Token::Text(value), i + 1));
            }
        } else {
            value.push(c);
        }
    }
    Err(error(position, "unterminated text literal"))
}

fn guid_or_instant(word: &str) -> Option<Token> {
    if word.len() == 36 && word.chars().filter(|c| *c == '-').count() == 4 {
        return Uuid::try_parse(word).ok().map(Token::Guid);
    }
    if word.len() >= 20 && word.as_bytes().get(10) == Some(&b'T') {
        return OffsetDateTime::parse(word, &Rfc3339).ok().map(Token::DateTime);
    }
    None
}

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.at)
    }

    fn position(&self) -> usize {
        self.peek().map_or(self.end, |t| t.position)
    }

    fn next(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Spanned { token: Token::Word(w), .. }) if w == word)
    }

    fn expect(&mut self, expected: &Token) -> Result<(), FilterError> {
        let position = self.position();
        match self.next() {
            Some(t) if &t.token == expected => Ok(()),
            Some(t) => Err(error(position, format!("expected {expected}, found {}", t.token))),
            None => Err(error(position, format!("expected {expected}, found the end"))),
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(self.position(), "filter nested too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        self.enter()?;
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.next();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.peek_word("and") {
            self.next();
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.peek_word("not") {
            self.next();
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Spanned {
                token: Token::Word(w), ..
            }) => match w.as_str() {
                "eq" => Some(CmpOp::Eq),
                "ne" => Some(CmpOp::Ne),
                "gt" => Some(CmpOp::Gt),
                "ge" => Some(CmpOp::Ge),
                "lt" => Some(CmpOp::Lt),
                "le" => Some(CmpOp::Le),
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else {
            return Ok(left);
        };
        self.next();
        let right = self.primary()?;
        Ok(Expr::Compare(op, Box::new(left), Box::new(right)))
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let position = self.position();
        let Some(Spanned { token, .. }) = self.next() else {
            return Err(error(position, "the filter ends where a value was expected"));
        };
        match token {
            Token::Open => {
                let inner = self.or()?;
                self.expect(&Token::Close)?;
                Ok(inner)
            }
            Token::Text(s) => Ok(Expr::Literal(Value::Text(s))),
            Token::Int(n) => Ok(Expr::Literal(Value::Int(n))),
            Token::Guid(g) => Ok(Expr::Literal(Value::Guid(g))),
            Token::DateTime(t) => Ok(Expr::Literal(Value::DateTime(t))),
            Token::Word(word) => match word.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "null" => Ok(Expr::Literal(Value::Null)),
                _ if matches!(self.peek(), Some(Spanned { token: Token::Open, .. })) => self.call(&word, position),
                _ => self.path(word),
            },
            other => Err(error(position, format!("unexpected {other}"))),
        }
    }

    fn call(&mut self, name: &str, position: usize) -> Result<Expr, FilterError> {
        let (func, arity) = match name {
            "startswith" => (Func::StartsWith, 2),
            "endswith" => (Func::EndsWith, 2),
            "contains" => (Func::Contains, 2),
            "tolower" => (Func::ToLower, 1),
            "toupper" => (Func::ToUpper, 1),
            "trim" => (Func::Trim, 1),
            other => return Err(error(position, format!("unknown function {other}"))),
        };
        self.expect(&Token::Open)?;
        self.enter()?;
        let mut args = vec![self.or()?];
        while matches!(
            self.peek(),
            Some(Spanned {
                token: Token::Comma,
                ..
            })
        ) {
            self.next();
            args.push(self.or()?);
        }
        self.depth -= 1;
        self.expect(&Token::Close)?;
        if args.len() != arity {
            return Err(error(
                position,
                format!("{name} takes {arity} argument(s), got {}", args.len()),
            ));
        }
        Ok(Expr::Call(func, args))
    }

    fn path(&mut self, first: String) -> Result<Expr, FilterError> {
        let mut segments = vec![first];
        while matches!(
            self.peek(),
            Some(Spanned {
                token: Token::Slash,
                ..
            })
        ) {
            self.next();
            let position = self.position();
            match self.next() {
                Some(Spanned {
                    token: Token::Word(w), ..
                }) => segments.push(w),
                _ => return Err(error(position, "a property name must follow '/'")),
            }
        }
        Ok(Expr::Path(segments))
    }
}

/// The static type of an expression: a column kind, or the `null` literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Of(Kind),
    Null,
}

fn kind_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Null => "null",
        Ty::Of(Kind::Guid) => "Edm.Guid",
        Ty::Of(Kind::Text) => "Edm.String",
        Ty::Of(Kind::Int) => "Edm.Int32",
        Ty::Of(Kind::Bool) => "Edm.Boolean",
        Ty::Of(Kind::DateTime) => "Edm.DateTimeOffset",
    }
}

impl Expr {
    /// Types the filter; `kind_of` resolves a property path of the collection or says why not.
    pub fn check(&self, kind_of: &dyn Fn(&[String]) -> Result<Kind, String>) -> Result<(), FilterError> {
        match self.ty(kind_of)? {
            Ty::Of(Kind::Bool) => Ok(()),
            other => Err(error(0, format!("the filter is {}, not a condition", kind_name(other)))),
        }
    }

    fn ty(&self, kind_of: &dyn Fn(&[String]) -> Result<Kind, String>) -> Result<Ty, FilterError> {
        let boolean = |e: &Expr| -> Result<(), FilterError> {
            match e.ty(kind_of)? {
                Ty::Of(Kind::Bool) => Ok(()),
                other => Err(error(0, format!("{} where a condition was expected", kind_name(other)))),
            }
        };
        match self {
            Expr::Or(a, b) | Expr::And(a, b) => {
                boolean(a)?;
                boolean(b)?;
                Ok(Ty::Of(Kind::Bool))
            }
            Expr::Not(a) => {
                boolean(a)?;
                Ok(Ty::Of(Kind::Bool))
            }
            Expr::Compare(op, a, b) => {
                let (left, right) = (a.ty(kind_of)?, b.ty(kind_of)?);
                let comparable = match (left, right) {
                    (Ty::Null, _) | (_, Ty::Null) => matches!(op, CmpOp::Eq | CmpOp::Ne),
                    (Ty::Of(l), Ty::Of(r)) if l == r => {
                        matches!(op, CmpOp::Eq | CmpOp::Ne) || matches!(l, Kind::Int | Kind::Text | Kind::DateTime)
                    }
                    _ => false,
                };
                if !comparable {
                    return Err(error(
                        0,
                        format!(
                            "a binary operator with incompatible types was detected: {} and {}",
                            kind_name(left),
                            kind_name(right)
                        ),
                    ));
                }
                Ok(Ty::Of(Kind::Bool))
            }
            Expr::Call(func, args) => {
                for arg in args {
                    let ty = arg.ty(kind_of)?;
                    if ty != Ty::Of(Kind::Text) {
                        return Err(error(
                            0,
                            format!("{func:?} needs Edm.String arguments, got {}", kind_name(ty)),
                        ));
                    }
                }
                Ok(match func {
                    Func::StartsWith | Func::EndsWith | Func::Contains => Ty::Of(Kind::Bool),
                    Func::ToLower | Func::ToUpper | Func::Trim => Ty::Of(Kind::Text),
                })
            }
            Expr::Literal(value) => Ok(match value {
                Value::Null => Ty::Null,
                Value::Bool(_) => Ty::Of(Kind::Bool),
                Value::Int(_) => Ty::Of(Kind::Int),
                Value::Text(_) => Ty::Of(Kind::Text),
                Value::Guid(_) => Ty::Of(Kind::Guid),
                Value::DateTime(_) => Ty::Of(Kind::DateTime),
            }),
            Expr::Path(segments) => kind_of(segments).map(Ty::Of).map_err(|message| error(0, message)),
        }
    }

    /// Evaluates a checked filter against one row; `value_of` reads a property path.
    pub fn matches(&self, value_of: &dyn Fn(&[String]) -> Value) -> bool {
        matches!(self.eval(value_of), Value::Bool(true))
    }

    fn eval(&self, value_of: &dyn Fn(&[String]) -> Value) -> Value {
        let truth = |e: &Expr| matches!(e.eval(value_of), Value::Bool(true));
        match self {
            Expr::Or(a, b) => Value::Bool(truth(a) || truth(b)),
            Expr::And(a, b) => Value::Bool(truth(a) && truth(b)),
            Expr::Not(a) => Value::Bool(!truth(a)),
            Expr::Compare(op, a, b) => Value::Bool(compare(*op, &a.eval(value_of), &b.eval(value_of))),
            Expr::Call(func, args) => {
                let texts: Vec<Option<String>> = args
                    .iter()
                    .map(|a| match a.eval(value_of) {
                        Value::Text(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                let text = |i: usize| texts.get(i).cloned().flatten();
                match func {
                    Func::StartsWith | Func::EndsWith | Func::Contains => {
                        let (Some(hay), Some(needle)) = (text(0), text(1)) else {
                            return Value::Bool(false);
                        };
                        let (hay, needle) = (hay.to_lowercase(), needle.to_lowercase());
                        Value::Bool(match func {
                            Func::StartsWith => hay.starts_with(&needle),
                            Func::EndsWith => hay.ends_with(&needle),
                            _ => hay.contains(&needle),
                        })
                    }
                    Func::ToLower => text(0).map_or(Value::Null, |s| Value::Text(s.to_lowercase())),
                    Func::ToUpper => text(0).map_or(Value::Null, |s| Value::Text(s.to_uppercase())),
                    Func::Trim => text(0).map_or(Value::Null, |s| Value::Text(s.trim().to_owned())),
                }
            }
            Expr::Literal(value) => value.clone(),
            Expr::Path(segments) => value_of(segments),
        }
    }
}

/// Orders two values of one type; text ignores case. `Null` sorts first.
pub fn order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Guid(x), Value::Guid(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    let null = matches!(a, Value::Null) || matches!(b, Value::Null);
    if null {
        let both = matches!(a, Value::Null) && matches!(b, Value::Null);
        return match op {
            CmpOp::Eq => both,
            CmpOp::Ne => !both,
            _ => false,
        };
    }
    let ordering = order(a, b);
    match op {
        CmpOp::Eq => ordering == Ordering::Equal,
        CmpOp::Ne => ordering != Ordering::Equal,
        CmpOp::Gt => ordering == Ordering::Greater,
        CmpOp::Ge => ordering != Ordering::Less,
        CmpOp::Lt => ordering == Ordering::Less,
        CmpOp::Le => ordering != Ordering::Greater,
    }
}
