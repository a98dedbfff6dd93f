//! Splitting a display filter into tokens.
//!
//! Contract: [`tokens`] turns the filter text into [`Tok`]s, each with the 0-based char
//! column where it starts. Words (field names, protocol names, numbers, addresses, `True`,
//! `20..30`) are runs of letters, digits and `_ . : / -`; strings are `"double quoted"` with
//! backslash escapes; everything else is an operator (`== != !== ~= > >= < <= && || ! ( ) { }
//! ,`). Anything else is an error naming its column.

use super::FilterError;

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bare word: a field, protocol, keyword or unquoted value.
    Word(String),
    /// A double-quoted string, escapes resolved.
    Str(String),
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
            let mut s = String::new();
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
                        let esc = chars.get(i + 1).copied().ok_or_else(|| {
                            FilterError::new(i, "\\", "a backslash at the end of the filter")
                        })?;
                        s.push(match esc {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            other => other,
                        });
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        tokens(s).unwrap().into_iter().map(|t| t.kind).collect()
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
        assert_eq!(kinds(r#"http.host == "a\"b""#)[2], Kind::Str("a\"b".into()));
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
