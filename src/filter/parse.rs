//! Display filter text to a typed [`Expr`].
//!
//! Contract: [`parse`] accepts the part of Wireshark 4.0's display-filter grammar a course
//! uses and returns an expression whose every literal already has its field's type (a port is
//! a number, `ip.addr == 10.0.0.0/24` a network, `tcp.flags.syn == True` the number 1), so
//! evaluation never parses text. Precedence as Wireshark's: `not` binds tightest, then `and`,
//! then `or`. Errors carry the column and token at fault and, for a misspelled name, the
//! closest known one.

use std::net::IpAddr;

use regex::Regex;

use super::FilterError;
use super::fields::{self, Field, Proto, Type};
use super::lex::{Kind, Tok, tokens};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    /// `==`: some value equals.
    Eq,
    /// `!=`: the field is present and no value equals (Wireshark 4.0's "all not equal").
    Ne,
    /// `~=`, `!==`: some value differs.
    AnyNe,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal, already of its field's type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    /// Integers, booleans (0/1), DNS type mnemonics.
    Uint(u64),
    /// Seconds.
    Time(f64),
    /// An address with a prefix length (32 or 128 for a single address).
    Net(IpAddr, u8),
    /// An Ethernet address.
    Mac([u8; 6]),
    /// Text.
    Str(String),
    /// Bytes: a quoted string's, or hex bytes (`68:65:6c`).
    Bytes(Vec<u8>),
}

/// What a byte-wise `contains` or `matches` looks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bytes {
    /// A protocol's bytes: from its header to the end of what it carries, as Wireshark hands
    /// them to its dissector (`frame` is every captured byte, `eth` the whole frame, `ip` the
    /// datagram, `tcp` the segment, `http` the message).
    Proto(Proto),
    /// A field of bytes (`tcp.payload`).
    Field(Field),
}

impl Bytes {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bytes::Proto(p) => p.name(),
            Bytes::Field(f) => f.name(),
        }
    }
}

/// One member of a set: a value or an inclusive range.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Member {
    One(Lit),
    Range(Lit, Lit),
}

/// A parsed display filter.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// A protocol is in the frame.
    Proto(Proto),
    /// The field has at least one value.
    Exists(Field),
    Cmp(Field, Cmp, Lit),
    In(Field, Vec<Member>),
    Contains(Field, String),
    Matches(Field, Regex),
    /// Some instance of the bytes holds the sequence.
    BytesContains(Bytes, Vec<u8>),
    /// Some instance of the bytes matches, case-insensitively unless the pattern says
    /// otherwise; `.` matches any byte.
    BytesMatches(Bytes, regex::bytes::Regex),
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

/// Parses a display filter. See the module documentation.
pub(crate) fn parse(src: &str) -> Result<Expr, FilterError> {
    let toks = tokens(src)?;
    let mut p = Parser { toks, pos: 0, src };
    if p.toks.is_empty() {
        return Err(FilterError::new(
            0,
            "",
            "empty filter: expected a field or protocol",
        ));
    }
    let e = p.or()?;
    if let Some(t) = p.peek() {
        return Err(FilterError::new(
            t.col,
            &t.text,
            format!(
                "\"{}\" was unexpected here: expected and, or or the end",
                t.text
            ),
        ));
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn end_col(&self) -> usize {
        self.src.chars().count()
    }

    /// Consumes the next token when it is one of `words` (case-insensitive) or `ops`.
    fn eat(&mut self, words: &[&str], ops: &[&str]) -> bool {
        let hit = match self.peek().map(|t| &t.kind) {
            Some(Kind::Word(w)) => words.iter().any(|k| k.eq_ignore_ascii_case(w)),
            Some(Kind::Op(o)) => ops.contains(o),
            _ => false,
        };
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn next(&mut self, what: &str) -> Result<Tok, FilterError> {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => Err(FilterError::new(
                self.end_col(),
                "",
                format!("unexpected end of filter: expected {what}"),
            )),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.eat(&["or"], &["||"]) {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.unary()?;
        while self.eat(&["and"], &["&&"]) {
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.eat(&["not"], &["!"]) {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(&[], &["("]) {
            let e = self.or()?;
            let t = self.next("\")\"")?;
            if t.kind != Kind::Op(")") {
                return Err(FilterError::new(
                    t.col,
                    &t.text,
                    format!("\"{}\" was unexpected here: expected \")\"", t.text),
                ));
            }
            return Ok(e);
        }
        self.test()
    }

    fn test(&mut self) -> Result<Expr, FilterError> {
        let t = self.next("a field or protocol")?;
        let Kind::Word(name) = &t.kind else {
            return Err(FilterError::new(
                t.col,
                &t.text,
                format!(
                    "\"{}\" was unexpected here: expected a field or protocol",
                    t.text
                ),
            ));
        };
        let Some(field) = fields::field(name) else {
            if let Some(p) = fields::proto(name) {
                match self.peek_word().as_deref() {
                    Some("contains") => return self.bytes_contains(Bytes::Proto(p)),
                    Some("matches") => return self.bytes_matches(Bytes::Proto(p)),
                    _ => {}
                }
                if self.at_operator() {
                    let o = self.peek().map_or(t.col, |o| o.col);
                    return Err(FilterError::new(
                        o,
                        self.peek().map_or("", |o| o.text.as_str()),
                        format!(
                            "{name} is a protocol: test it alone, or its bytes with contains \
                             or matches"
                        ),
                    ));
                }
                return Ok(Expr::Proto(p));
            }
            let mut e =
                FilterError::new(t.col, name, format!("unknown field or protocol \"{name}\""));
            e.suggestion = fields::suggest(name).map(String::from);
            return Err(e);
        };
        let ty = field.ty();
        let op = match self.peek().map(|t| (&t.kind, t.col)) {
            Some((Kind::Op(o), _)) => match *o {
                "==" => Some(Cmp::Eq),
                "!=" => Some(Cmp::Ne),
                "~=" | "!==" => Some(Cmp::AnyNe),
                ">" => Some(Cmp::Gt),
                ">=" => Some(Cmp::Ge),
                "<" => Some(Cmp::Lt),
                "<=" => Some(Cmp::Le),
                _ => None,
            },
            Some((Kind::Word(w), _)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Some(Cmp::Eq),
                "ne" => Some(Cmp::Ne),
                "any_ne" => Some(Cmp::AnyNe),
                "gt" => Some(Cmp::Gt),
                "ge" => Some(Cmp::Ge),
                "lt" => Some(Cmp::Lt),
                "le" => Some(Cmp::Le),
                "contains" => return self.contains(field, &t),
                "matches" => return self.matches(field, &t),
                "in" => return self.set(field),
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else {
            return Ok(Expr::Exists(field));
        };
        let op_tok = self.next("an operator")?;
        if ty == Type::Flag {
            return Err(FilterError::new(
                op_tok.col,
                &op_tok.text,
                format!(
                    "{} has no value: test it alone, without \"{}\"",
                    field.name(),
                    op_tok.text
                ),
            ));
        }
        let ordered = !matches!(op, Cmp::Eq | Cmp::Ne | Cmp::AnyNe);
        if ordered && matches!(ty, Type::Str | Type::Mac | Type::Bool | Type::Bytes) {
            return Err(FilterError::new(
                op_tok.col,
                &op_tok.text,
                format!("{} cannot be ordered: use == or !=", field.name()),
            ));
        }
        let v = self.next("a value")?;
        let lit = literal(field, &v)?;
        if ordered && matches!(lit, Lit::Net(_, p) if p != full_prefix(&lit)) {
            return Err(FilterError::new(
                v.col,
                &v.text,
                "a network cannot be ordered: use == or !=",
            ));
        }
        Ok(Expr::Cmp(field, op, lit))
    }

    /// The next token, lowercased, when it is a word.
    fn peek_word(&self) -> Option<String> {
        match self.peek().map(|t| &t.kind) {
            Some(Kind::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn at_operator(&self) -> bool {
        match self.peek().map(|t| &t.kind) {
            Some(Kind::Op(o)) => matches!(*o, "==" | "!=" | "!==" | "~=" | ">" | ">=" | "<" | "<="),
            Some(Kind::Word(w)) => matches!(
                w.to_ascii_lowercase().as_str(),
                "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "contains" | "matches" | "in"
            ),
            _ => false,
        }
    }

    fn string_operand(&mut self, field: Field, op: &str) -> Result<(Tok, String), FilterError> {
        let v = self.next("a string")?;
        if field.ty() != Type::Str {
            return Err(FilterError::new(
                v.col,
                &v.text,
                format!("\"{op}\" needs a text field; {} is not one", field.name()),
            ));
        }
        let s = match &v.kind {
            Kind::Str(b) => String::from_utf8_lossy(b).into_owned(),
            Kind::Word(s) => s.clone(),
            Kind::Op(_) => {
                return Err(FilterError::new(
                    v.col,
                    &v.text,
                    format!("\"{}\" was unexpected here: expected a string", v.text),
                ));
            }
        };
        Ok((v, s))
    }

    fn contains(&mut self, field: Field, _name: &Tok) -> Result<Expr, FilterError> {
        if field.ty() == Type::Bytes {
            return self.bytes_contains(Bytes::Field(field));
        }
        self.pos += 1;
        let (_, s) = self.string_operand(field, "contains")?;
        Ok(Expr::Contains(field, s))
    }

    fn matches(&mut self, field: Field, _name: &Tok) -> Result<Expr, FilterError> {
        if field.ty() == Type::Bytes {
            return self.bytes_matches(Bytes::Field(field));
        }
        self.pos += 1;
        let (v, s) = self.string_operand(field, "matches")?;
        // Wireshark 4.0 matches case-insensitively unless the pattern says otherwise.
        let re = regex::RegexBuilder::new(&s)
            .case_insensitive(true)
            .build()
            .map_err(|e| bad_regex(&v, &e))?;
        Ok(Expr::Matches(field, re))
    }

    /// `BYTES contains "text"` or `BYTES contains 68:65:6c`, the `contains` not yet taken.
    fn bytes_contains(&mut self, what: Bytes) -> Result<Expr, FilterError> {
        self.pos += 1;
        let v = self.next("a string or bytes")?;
        match bytes_literal(&v) {
            Some(needle) => Ok(Expr::BytesContains(what, needle)),
            None => Err(FilterError::new(
                v.col,
                &v.text,
                format!(
                    "\"{}\" is neither a quoted string nor bytes (68:65:6c), as contains on {} \
                     needs",
                    v.text,
                    what.name()
                ),
            )),
        }
    }

    /// `BYTES matches "regex"`, the `matches` not yet taken: Wireshark runs the pattern over
    /// the raw bytes, case-insensitively unless it says otherwise.
    fn bytes_matches(&mut self, what: Bytes) -> Result<Expr, FilterError> {
        self.pos += 1;
        let v = self.next("a string")?;
        let Kind::Str(pattern) = &v.kind else {
            return Err(FilterError::new(
                v.col,
                &v.text,
                format!(
                    "\"{}\" was unexpected here: expected a quoted pattern",
                    v.text
                ),
            ));
        };
        // The pattern is the string's bytes; one beyond ASCII (an escape such as `\xff`, or
        // a character's UTF-8) is that byte to the byte-wise regex.
        let mut source = String::new();
        for &b in pattern {
            if b.is_ascii() {
                source.push(char::from(b));
                continue;
            }
            // A backslash before such a byte escapes a byte that needs none: it is the byte.
            let backslashes = source.chars().rev().take_while(|&c| c == '\\').count();
            if backslashes % 2 == 1 {
                source.pop();
            }
            source.push_str(&format!("\\x{b:02x}"));
        }
        let re = regex::bytes::RegexBuilder::new(&source)
            .case_insensitive(true)
            .unicode(false)
            .build()
            .map_err(|e| bad_regex(&v, &e))?;
        Ok(Expr::BytesMatches(what, re))
    }

    fn set(&mut self, field: Field) -> Result<Expr, FilterError> {
        self.pos += 1;
        let open = self.next("\"{\"")?;
        if open.kind != Kind::Op("{") {
            return Err(FilterError::new(
                open.col,
                &open.text,
                format!("\"{}\" was unexpected here: expected \"{{\"", open.text),
            ));
        }
        let mut members = Vec::new();
        loop {
            let t = self.next("a value or \"}\"")?;
            if t.kind == Kind::Op("}") && members.is_empty() {
                return Err(FilterError::new(t.col, "}", "empty set: expected a value"));
            }
            members.push(self.member(field, &t)?);
            let sep = self.next("\",\" or \"}\"")?;
            match sep.kind {
                Kind::Op("}") => break,
                Kind::Op(",") => {}
                _ => {
                    return Err(FilterError::new(
                        sep.col,
                        &sep.text,
                        format!(
                            "\"{}\" was unexpected here: expected \",\" or \"}}\"",
                            sep.text
                        ),
                    ));
                }
            }
        }
        Ok(Expr::In(field, members))
    }

    /// A set member: `21`, `20..30` (one word) or `20 .. 30`.
    fn member(&mut self, field: Field, t: &Tok) -> Result<Member, FilterError> {
        if let Kind::Word(w) = &t.kind {
            if let Some((a, b)) = w.split_once("..") {
                if b.is_empty() {
                    let hi = self.next("the end of the range")?;
                    return Ok(Member::Range(
                        lit_at(field, a, t.col)?,
                        literal(field, &hi)?,
                    ));
                }
                let lo = lit_at(field, a, t.col)?;
                let hi = lit_at(field, b, t.col + a.len() + 2)?;
                return Ok(Member::Range(lo, hi));
            }
        }
        let lo = literal(field, t)?;
        if matches!(self.peek().map(|t| &t.kind), Some(Kind::Word(w)) if w.starts_with("..")) {
            let dots = self.next("..")?;
            let Kind::Word(w) = &dots.kind else {
                unreachable!()
            };
            let rest = &w[2..];
            if rest.is_empty() {
                let hi = self.next("the end of the range")?;
                return Ok(Member::Range(lo, literal(field, &hi)?));
            }
            return Ok(Member::Range(lo, lit_at(field, rest, dots.col + 2)?));
        }
        Ok(Member::One(lo))
    }
}

/// The regex crate's message ends with a one-line reason after its own caret.
fn bad_regex(v: &Tok, e: &regex::Error) -> FilterError {
    let text = e.to_string();
    let why = text
        .lines()
        .last()
        .unwrap_or("")
        .trim_start_matches("error: ");
    FilterError::new(v.col, &v.text, format!("bad regular expression: {why}"))
}

/// A quoted string's bytes, or hex bytes as Wireshark reads them: pairs of hex digits
/// separated by `:`, `-` or `.` (`68:65:6c`), or hex digits run together (`68656c`; with an
/// odd count the last digit is a byte of its own, so `256` is 25:06 and `7` is 07), or `0x`
/// and pairs (`0x41`).
fn bytes_literal(t: &Tok) -> Option<Vec<u8>> {
    match &t.kind {
        Kind::Str(b) => Some(b.clone()),
        Kind::Word(w) => hex_bytes(w),
        Kind::Op(_) => None,
    }
}

fn hex_bytes(w: &str) -> Option<Vec<u8>> {
    let pair = |p: &str| {
        (p.len() == 2)
            .then(|| u8::from_str_radix(p, 16).ok())
            .flatten()
    };
    if let Some(sep) = w.chars().find(|c| matches!(c, ':' | '-' | '.')) {
        return w.split(sep).map(pair).collect();
    }
    let digits = match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(rest) if rest.len() % 2 == 0 => rest.to_string(),
        Some(_) => return None,
        None if w.len() % 2 == 1 && w.is_ascii() => {
            let (pairs, last) = w.split_at(w.len() - 1);
            format!("{pairs}0{last}")
        }
        None => w.to_string(),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| pair(&digits[i..i + 2]))
        .collect()
}

fn full_prefix(l: &Lit) -> u8 {
    match l {
        Lit::Net(IpAddr::V4(_), _) => 32,
        _ => 128,
    }
}

fn literal(field: Field, t: &Tok) -> Result<Lit, FilterError> {
    match &t.kind {
        Kind::Word(w) => lit_at(field, w, t.col),
        Kind::Str(b) if field.ty() == Type::Bytes => Ok(Lit::Bytes(b.clone())),
        Kind::Str(b) if field.ty() == Type::Str => {
            Ok(Lit::Str(String::from_utf8_lossy(b).into_owned()))
        }
        Kind::Str(b) => lit_at(field, &String::from_utf8_lossy(b), t.col).map_err(|mut e| {
            e.token = t.text.clone();
            e
        }),
        Kind::Op(o) => Err(FilterError::new(
            t.col,
            *o,
            format!("\"{o}\" was unexpected here: expected a value"),
        )),
    }
}

/// Reads `text` as a value of `field`'s type.
fn lit_at(field: Field, text: &str, col: usize) -> Result<Lit, FilterError> {
    let bad = |what: &str| {
        FilterError::new(
            col,
            text,
            format!("\"{text}\" is not {what}, as {} needs", field.name()),
        )
    };
    match field.ty() {
        // Wireshark 4.0 takes no mnemonics for numbers (`dns.qry.type == MX` is refused).
        Type::Uint => uint(text)
            .map(Lit::Uint)
            .ok_or_else(|| bad("an unsigned integer")),
        Type::Bool => match text {
            "1" | "True" | "TRUE" | "true" => Ok(Lit::Uint(1)),
            "0" | "False" | "FALSE" | "false" => Ok(Lit::Uint(0)),
            _ => Err(bad("a boolean (1, 0, True, False)")),
        },
        Type::Time => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Lit::Time)
            .ok_or_else(|| bad("a number of seconds")),
        Type::Addr => net(text).ok_or_else(|| bad("an address or network (10.0.0.0/24)")),
        Type::Mac => mac(text)
            .map(Lit::Mac)
            .ok_or_else(|| bad("an Ethernet address")),
        Type::Str => Ok(Lit::Str(text.to_string())),
        Type::Bytes => hex_bytes(text)
            .map(Lit::Bytes)
            .ok_or_else(|| bad("a quoted string or bytes (68:65:6c)")),
        Type::Flag => Err(bad("allowed: the field has no value")),
    }
}

/// C-style integers, as Wireshark reads them: `0x15`, `025` (octal), `21`.
fn uint(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

fn net(s: &str) -> Option<Lit> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let p = prefix.unwrap_or(max);
    (p <= max).then_some(Lit::Net(ip, p))
}

fn mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-', '.']).collect();
    let hex: String = match parts.len() {
        6 if parts.iter().all(|p| p.len() == 2) => parts.concat(),
        3 if parts.iter().all(|p| p.len() == 4) => parts.concat(),
        _ => return None,
    };
    let mut m = [0u8; 6];
    for (i, b) in m.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match e {
            Expr::Or(a, b) => format!("({} or {})", show(a), show(b)),
            Expr::And(a, b) => format!("({} and {})", show(a), show(b)),
            Expr::Not(a) => format!("!{}", show(a)),
            Expr::Proto(p) => format!("{p:?}"),
            Expr::Exists(f) => f.name().to_string(),
            Expr::Cmp(f, op, l) => format!("{} {op:?} {l:?}", f.name()),
            Expr::In(f, m) => format!("{} in {m:?}", f.name()),
            Expr::Contains(f, s) => format!("{} contains {s:?}", f.name()),
            Expr::Matches(f, r) => format!("{} matches {}", f.name(), r.as_str()),
            Expr::BytesContains(b, n) => format!("{} contains {n:?}", b.name()),
            Expr::BytesMatches(b, r) => format!("{} matches {}", b.name(), r.as_str()),
        }
    }

    fn ok(s: &str) -> String {
        show(&parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    fn err(s: &str) -> FilterError {
        parse(s).err().unwrap_or_else(|| panic!("{s} parsed"))
    }

    #[test]
    fn bytes_are_hex_digits_as_wireshark_reads_them() {
        assert_eq!(hex_bytes("0a"), Some(vec![0x0a]));
        assert_eq!(hex_bytes("a"), Some(vec![0x0a]));
        assert_eq!(hex_bytes("68:65:6c"), Some(vec![0x68, 0x65, 0x6c]));
        assert_eq!(hex_bytes("68-65"), Some(vec![0x68, 0x65]));
        assert_eq!(hex_bytes("68.65"), Some(vec![0x68, 0x65]));
        assert_eq!(hex_bytes("68656c"), Some(vec![0x68, 0x65, 0x6c]));
        assert_eq!(hex_bytes("0x41"), Some(vec![0x41]));
        assert_eq!(hex_bytes("256"), Some(vec![0x25, 0x06]));
        for bad in [
            "", "68:6", "68:65-6c", "zz", "68::65", "0x4", "0x", "68:656c", "hello",
        ] {
            assert_eq!(hex_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_protocol_takes_contains_and_matches_on_its_bytes() {
        let e =
            parse("frame contains \"USER\" && tcp matches \"^.{2}\" && udp.payload contains 00")
                .unwrap();
        assert_eq!(
            show(&e),
            "((frame contains [85, 83, 69, 82] and tcp matches ^.{2}) and udp.payload contains [0])"
        );
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(ok("arp or tcp and not udp"), "(Arp or (Tcp and !Udp))");
        assert_eq!(ok("!arp && (tcp || udp)"), "(!Arp and (Tcp or Udp))");
    }

    #[test]
    fn literals_take_their_field_type() {
        assert_eq!(ok("tcp.port eq 0x15"), "tcp.port Eq Uint(21)");
        assert_eq!(ok("tcp.port == 025"), "tcp.port Eq Uint(21)");
        assert_eq!(ok("tcp.flags.syn == True"), "tcp.flags.syn Eq Uint(1)");
        assert_eq!(ok("dns.qry.type == 15"), "dns.qry.type Eq Uint(15)");
        assert_eq!(err("dns.qry.type == MX").col, 16);
        assert_eq!(ok("ip.addr == 10.0.0.0/24"), "ip.addr Eq Net(10.0.0.0, 24)");
        assert_eq!(ok("ip.src != 10.0.0.1"), "ip.src Ne Net(10.0.0.1, 32)");
        assert_eq!(
            ok("eth.src == 02:00:00:00:00:01"),
            "eth.src Eq Mac([2, 0, 0, 0, 0, 1])"
        );
        assert_eq!(
            ok("frame.time_delta > 0.5"),
            "frame.time_delta Gt Time(0.5)"
        );
        assert_eq!(
            ok("http.request.method == \"GET\""),
            "http.request.method Eq Str(\"GET\")"
        );
    }

    #[test]
    fn sets_ranges_and_string_operators() {
        assert_eq!(
            ok("tcp.port in {21, 25, 80}"),
            "tcp.port in [One(Uint(21)), One(Uint(25)), One(Uint(80))]"
        );
        assert_eq!(
            ok("tcp.port in {20..30}"),
            "tcp.port in [Range(Uint(20), Uint(30))]"
        );
        assert_eq!(
            ok("tcp.port in {20 .. 30}"),
            "tcp.port in [Range(Uint(20), Uint(30))]"
        );
        assert_eq!(
            ok("dns.qry.name contains \"ex\""),
            "dns.qry.name contains \"ex\""
        );
        assert_eq!(ok("http.host matches \"^www\""), "http.host matches ^www");
        assert_eq!(
            ok("tcp.analysis.retransmission"),
            "tcp.analysis.retransmission"
        );
    }

    #[test]
    fn errors_name_the_place() {
        let e = err("tcp.prot == 1");
        assert_eq!((e.col, e.token.as_str()), (0, "tcp.prot"));
        assert_eq!(e.suggestion.as_deref(), Some("tcp.port"));
        let e = err("tcp.port == 1 &&");
        assert_eq!(e.col, 16);
        assert!(e.problem.contains("end of filter"), "{e}");
        let e = err("tcp.len > 1000 foo");
        assert_eq!((e.col, e.token.as_str()), (15, "foo"));
        let e = err("tcp.port in {21 25}");
        assert_eq!((e.col, e.token.as_str()), (16, "25"));
        let e = err("tcp.port == http");
        assert_eq!((e.col, e.token.as_str()), (12, "http"));
        let e = err("ip.addr == 10.0.0.300");
        assert_eq!(e.col, 11);
        let e = err("(tcp");
        assert_eq!(e.col, 4);
        let e = err("tcp == 1");
        assert_eq!(e.col, 4);
        let e = err("tcp.analysis.retransmission == 1");
        assert_eq!(e.col, 28);
        let e = err("http.host > \"a\"");
        assert_eq!(e.col, 10);
        let e = err("tcp.port contains \"a\"");
        assert_eq!(e.col, 18);
        let e = err("http.host matches \"(\"");
        assert_eq!(e.col, 18);
        assert_eq!(err("").col, 0);
        assert_eq!(err("tcp.port in {}").col, 13);
    }
}
