//! Splitting a display filter into tokens.
//!
//! Contract: [`tokens`] turns the filter text into [`Tok`]s, each with the 0-based char
//! column where it starts. Words (field names, protocol names, numbers, addresses, `True`,
//! `20..30`) are runs of letters, digits and `_ . : / -`; strings are `"double quoted"` with
//! backslash escapes; everything else is an operator (`== != !== ~= > >= < <= && || ! ( ) { }
//! ,`). Anything else is an error naming its column.
//!
//! A string's escapes are C's, as Wireshark reads them, and make bytes, not characters:
//! `\a \b \f \n \r \t \v`, `\\ \" \'`, `\xH` or `\xHH`, one to three octal digits (at
//! most 255), and `\uXXXX` or `\UXXXXXXXX`, a character by its number (UTF-8 encoded; C's
//! rule: not below U+00A0 save `$ @ \``, not a surrogate). Any other escape is an error at
//! its backslash.

use super::FilterError;

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bare word: a field, protocol, keyword or unquoted value.
    Word(String),
    /// A double-quoted string, escapes resolved to the bytes they stand for.
    Str(Vec<u8>),
    /// An operator or bracket, as written.
    Op(&'static str),
}

/// One token and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tok {
    /// What it is.
    pub kind: Kind,
    /// 0-based char column of its first char.
    pub col: usize,
    /// The text as written (for error messages).
    pub text: String,
}

/// Longest first, so `>=` is not read as `>` then `=`.
const OPS: [&str; 17] = [
    "!==", "==", "!=", "~=", ">=", "<=", "&&", "||", ">", "<", "!", "(", ")", "{", "}", ",", "=",
];

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-')
}

/// Splits `src` into tokens. See the module documentation.
pub(crate) fn tokens(src: &str) -> Result<Vec<Tok>, FilterError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let col = i;
        if word_char(c) {
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            let text: String = chars[col..i].iter().collect();
            out.push(Tok {
                kind: Kind::Word(text.clone()),
                col,
                text,
            });
            continue;
        }
        if c == '"' {
            let mut s = Vec::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(FilterError::new(
                            col,
                            "\"",
                            "unterminated string: a closing \" is missing",
                        ));
                    }
                    Some('"') => break,
                    Some('\\') => {
                        let (bytes, len) = escape(&chars, i)?;
                        s.extend(bytes);
                        i += len;
                    }
                    Some(&ch) => {
                        s.extend(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        i += 1;
                    }
                }
            }
            i += 1;
            let text: String = chars[col..i].iter().collect();
            out.push(Tok {
                kind: Kind::Str(s),
                col,
                text,
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
            return Err(FilterError::new(
                col,
                c.to_string(),
                format!("unexpected character '{c}'"),
            ));
        };
        if *op == "=" {
            return Err(FilterError::new(col, "=", "'=' is not an operator").hint("=="));
        }
        i += op.chars().count();
        out.push(Tok {
            kind: Kind::Op(op),
            col,
            text: (*op).to_string(),
        });
    }
    Ok(out)
}

/// The escape whose backslash is `chars[at]`: the bytes it stands for and how many chars it
/// spans. See the module documentation.
fn escape(chars: &[char], at: usize) -> Result<(Vec<u8>, usize), FilterError> {
    let Some(&c) = chars.get(at + 1) else {
        return Err(FilterError::new(
            at,
            "\\",
            "a backslash at the end of the filter",
        ));
    };
    // Up to `most` digits of `radix` after the escape's letter (after the backslash for octal).
    let digits = |from: usize, radix: u32, most: usize| {
        let run: String = chars[from..]
            .iter()
            .take(most)
            .take_while(|d| d.is_digit(radix))
            .collect();
        let value = u32::from_str_radix(&run, radix).ok();
        (value, run.chars().count())
    };
    let written =
        |len: usize| -> String { chars[at..(at + len).min(chars.len())].iter().collect() };
    let simple = match c {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' | '"' | '\'' => Some(c as u8),
        _ => None,
    };
    if let Some(byte) = simple {
        return Ok((vec![byte], 2));
    }
    match c {
        'x' => match digits(at + 2, 16, 2) {
            (Some(v), n) => Ok((vec![v as u8], 2 + n)),
            (None, _) => Err(FilterError::new(
                at,
                written(2),
                "\\x is not a valid character escape sequence: \\x takes one or two hex digits",
            )),
        },
        '0'..='7' => {
            let (value, n) = digits(at + 1, 8, 3);
            let value = value.expect("one octal digit at least");
            let text = written(1 + n);
            u8::try_from(value)
                .map(|b| (vec![b], 1 + n))
                .map_err(|_| FilterError::new(at, &text, format!("{text} is larger than 255")))
        }
        'u' | 'U' => {
            let want = if c == 'u' { 4 } else { 8 };
            let (value, n) = digits(at + 2, 16, want);
            let text = written(2 + n);
            // C's rule for a universal character name: a whole number of digits, not a
            // surrogate, and nothing below U+00A0 but `$`, `@` and a backquote.
            let ch = value
                .filter(|v| n == want && (*v >= 0xa0 || matches!(v, 0x24 | 0x40 | 0x60)))
                .and_then(char::from_u32);
            match ch {
                Some(ch) => Ok((ch.encode_utf8(&mut [0; 4]).as_bytes().to_vec(), 2 + n)),
                None => Err(FilterError::new(
                    at,
                    &text,
                    format!("{text} is not a valid universal character name"),
                )),
            }
        }
        other => Err(FilterError::new(
            at,
            written(2),
            format!("\\{other} is not a valid character escape sequence"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        tokens(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    /// The bytes of the one string in `s`, or the error's column and problem.
    fn string(s: &str) -> Result<Vec<u8>, (usize, String)> {
        match tokens(s) {
            Ok(t) => match &t[..] {
                [
                    Tok {
                        kind: Kind::Str(b), ..
                    },
                ] => Ok(b.clone()),
                other => panic!("{s}: {other:?}"),
            },
            Err(e) => Err((e.col, e.problem)),
        }
    }

    #[test]
    fn escapes_make_bytes_as_in_c() {
        assert_eq!(
            string(r#""\a\b\f\n\r\t\v\\\"\'""#).unwrap(),
            b"\x07\x08\x0c\n\r\t\x0b\\\"'"
        );
        assert_eq!(string(r#""\x41\x4g\xff""#).unwrap(), b"A\x04g\xff");
        assert_eq!(string(r#""\101\0\1500\377""#).unwrap(), b"A\0h0\xff");
        assert_eq!(
            string(r#""\u00e9\U0001F600\u0024""#).unwrap(),
            "é😀$".as_bytes()
        );
        assert_eq!(string("\"é\"").unwrap(), "é".as_bytes());
        for (s, col, problem) in [
            (
                r#""ab\q""#,
                3,
                "\\q is not a valid character escape sequence",
            ),
            (r#""\x""#, 1, "\\x is not a valid character escape sequence"),
            (r#""\8""#, 1, "\\8 is not a valid character escape sequence"),
            (r#""\400""#, 1, "\\400 is larger than 255"),
            (
                r#""\u0055""#,
                1,
                "\\u0055 is not a valid universal character name",
            ),
            (
                r#""\u12""#,
                1,
                "\\u12 is not a valid universal character name",
            ),
            (
                r#""\ud800""#,
                1,
                "\\ud800 is not a valid universal character name",
            ),
            (
                r#""\U00110000""#,
                1,
                "\\U00110000 is not a valid universal character name",
            ),
        ] {
            let (c, p) = string(s).unwrap_err();
            assert_eq!(c, col, "{s}");
            assert!(p.starts_with(problem), "{s}: {p}");
        }
    }

    #[test]
    fn words_strings_and_operators() {
        assert_eq!(
            kinds("tcp.port>=21&&!arp"),
            vec![
                Kind::Word("tcp.port".into()),
                Kind::Op(">="),
                Kind::Word("21".into()),
                Kind::Op("&&"),
                Kind::Op("!"),
                Kind::Word("arp".into()),
            ]
        );
        assert_eq!(
            kinds(r#"http.host == "a\"b""#)[2],
            Kind::Str(b"a\"b".to_vec())
        );
        assert_eq!(kinds("ftp-data")[0], Kind::Word("ftp-data".into()));
    }

    #[test]
    fn columns_count_chars() {
        let t = tokens("  ip  ==  10.0.0.1").unwrap();
        assert_eq!(t.iter().map(|t| t.col).collect::<Vec<_>>(), [2, 6, 10]);
    }

    #[test]
    fn bad_characters_name_their_column() {
        let e = tokens("tcp.port == 21 $").unwrap_err();
        assert_eq!((e.col, e.token.as_str()), (15, "$"));
        let e = tokens("ip.src = 10.0.0.1").unwrap_err();
        assert_eq!(e.col, 7);
        assert_eq!(e.suggestion.as_deref(), Some("=="));
        assert_eq!(tokens("dns.qry.name == \"ab").unwrap_err().col, 16);
    }
}
