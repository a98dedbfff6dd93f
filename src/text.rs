//! Text formatting shared by every stage: durations as people read them and as JSON carries
//! them, and the one escaping rule for bytes shown in reports, snapshots and feedback.
//!
//! Contract: every function here is pure and total (any bytes, any duration). The escaping
//! rule is byte-wise: printable ASCII stays, `"` and `\` are backslashed, CR LF TAB become
//! `\r \n \t`, every other byte (controls, DEL, each byte of a non-ASCII character, invalid
//! UTF-8) becomes `\xNN`. So escaped text is exact (it reads back to the same bytes), a
//! snapshot's line width counts bytes, and untrusted bytes (a student's file, a program's
//! output) can never move a terminal's cursor or reorder what it shows.
//!
//! Terminal colour is [`Ink`]: SGR codes around a span when the output is a terminal, the
//! plain text otherwise.
//!
//! Markup (HTML, SVG, JUnit XML) has one rule too, [`markup`]: the five characters that mean
//! something there become entities, and control characters other than TAB, LF and CR, which
//! XML 1.0 cannot carry at all, become `\xNN` as above.
//!
//! This module is a leaf: it imports nothing from the crate, so any stage may use it.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// `850µs`, `12.3ms`, `2.50s`.
pub fn human_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1000.0)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

/// Serialises a duration as fractional milliseconds.
pub fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// Reads a duration written by [`millis`] back (to the nearest nanosecond).
pub fn de_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let ms = f64::deserialize(d)?;
    Duration::try_from_secs_f64(ms / 1e3).map_err(serde::de::Error::custom)
}

/// Escapes bytes for display inside double quotes, by the rule in the module doc.
pub fn escape(bytes: &[u8]) -> String {
    escape_as(bytes, Form::Quoted)
}

/// Escapes bytes shown as lines of their own rather than inside quotes (`labctl show`'s
/// stream view): the same rule, except that LF and TAB stay as they are, so the text keeps its
/// lines, and `"` and `\` are not backslashed, as no quotes surround them.
pub fn escape_lines(bytes: &[u8]) -> String {
    escape_as(bytes, Form::Lines)
}

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Quoted,
    Lines,
}

fn escape_as(bytes: &[u8], form: Form) -> String {
    let mut s = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        match b {
            b'"' | b'\\' if form == Form::Quoted => {
                s.push('\\');
                s.push(b as char);
            }
            b'\n' | b'\t' if form == Form::Lines => s.push(b as char),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// Serialises bytes as their escaped text, so JSON stays readable and exact.
pub fn serialize_bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&escape(bytes))
}

/// The most bytes [`quote`] shows.
pub const QUOTE_LIMIT: usize = 200;

/// Bytes escaped and in double quotes, cut after [`QUOTE_LIMIT`] bytes; from that length on,
/// the whole length follows in parentheses: the form every report, check detail and grading
/// feedback uses for a payload.
pub fn quote(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(QUOTE_LIMIT)];
    let mut out = format!("\"{}\"", escape(shown));
    if bytes.len() >= QUOTE_LIMIT {
        let _ = write!(out, " ({} bytes)", bytes.len());
    }
    out
}

/// Escapes text for HTML, SVG and XML, in element content and in quoted attribute values
/// alike, by the rule in the module doc.
pub fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Colour for a terminal, or none: the reports' one way to paint text.
#[derive(Clone, Copy, Debug)]
pub struct Ink {
    /// Whether to colour at all.
    pub color: bool,
}

impl Ink {
    /// `s` inside the SGR `code` (`"1"` bold, `"2"` dim, `"31"` red, `"32"` green, `"33"`
    /// yellow, combined with `;`), or `s` as it is without colour.
    pub fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// `s` in bold.
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }

    /// `pass` in green when `passed`, else `fail` in red: a check's mark.
    pub fn mark(self, passed: bool, pass: &str, fail: &str) -> String {
        if passed {
            self.paint("32", pass)
        } else {
            self.paint("31", fail)
        }
    }

    /// As [`Ink::mark`], in bold: the verdict of a whole run.
    pub fn verdict(self, passed: bool, pass: &str, fail: &str) -> String {
        if passed {
            self.paint("1;32", pass)
        } else {
            self.paint("1;31", fail)
        }
    }

    /// A diff's line: removed lines red, added lines green, the rest as they are.
    pub fn diff_line(self, line: &str) -> String {
        match line.chars().next() {
            Some('-') => self.paint("31", line),
            Some('+') => self.paint("32", line),
            _ => line.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_micros(850)), "850µs");
        assert_eq!(human_duration(Duration::from_micros(12_340)), "12.3ms");
        assert_eq!(human_duration(Duration::from_millis(2500)), "2.50s");
    }

    #[test]
    fn millis_keep_microseconds() {
        let mut out = Vec::new();
        millis(
            &Duration::from_micros(12_345),
            &mut serde_json::Serializer::new(&mut out),
        )
        .unwrap();
        assert_eq!(out, b"12.345");
        let back = de_millis(&mut serde_json::Deserializer::from_slice(&out)).unwrap();
        assert_eq!(back, Duration::from_micros(12_345));
    }

    #[test]
    fn escape_keeps_text_and_names_control_bytes() {
        assert_eq!(escape(b"hello on 27664\r\n"), "hello on 27664\\r\\n");
        assert_eq!(
            escape(b"a\"b\\c\td\x00\xff\x7f"),
            "a\\\"b\\\\c\\td\\x00\\xff\\x7f"
        );
    }

    #[test]
    fn markup_escapes_what_markup_reads_and_the_controls_xml_cannot_carry() {
        assert_eq!(
            markup("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            markup("a\tb\r\nc\u{1b}[2J\u{7f}é"),
            "a\tb\r\nc\\x1b[2J\\x7fé"
        );
    }

    #[test]
    fn escape_lines_keeps_lines_and_tabs() {
        assert_eq!(escape_lines(b"a\"b\\c\td\r\n\x00"), "a\"b\\c\td\\r\n\\x00");
    }

    #[test]
    fn escape_shows_every_byte_of_non_ascii_text() {
        // A right-to-left override (U+202E) would reorder a terminal line: it shows as bytes.
        assert_eq!(escape("é\u{202e}".as_bytes()), "\\xc3\\xa9\\xe2\\x80\\xae");
    }

    #[test]
    fn quote_escapes_controls_and_invalid_utf8() {
        assert_eq!(quote(b"hi\r\n"), r#""hi\r\n""#);
        assert_eq!(quote(b"a\"b\\"), r#""a\"b\\""#);
        assert_eq!(quote(&[0xff, b'x', 0x01]), r#""\xffx\x01""#);
    }

    #[test]
    fn quote_cuts_long_payloads_and_says_how_long() {
        let long = vec![b'a'; 1000];
        let q = quote(&long);
        assert!(q.ends_with("\" (1000 bytes)"), "{q}");
        assert_eq!(q.len(), QUOTE_LIMIT + 2 + " (1000 bytes)".len());
        assert_eq!(quote(&long[..QUOTE_LIMIT - 1]).len(), QUOTE_LIMIT + 1);
    }
}
