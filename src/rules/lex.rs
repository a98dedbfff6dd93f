//! Splitting one command line into words, the way a shell would for simple input, without ever
//! running a shell.
//!
//! Contract: [`split`] turns a line into [`Token`]s, each with the text a shell would pass to
//! the program and the 0-based char column where the word starts in the line. It understands
//! `'single'` and `"double"` quotes, backslash escapes, backslash-newline continuations (course
//! material writes long iptables commands over several lines) and a `#` comment at the start of
//! a word. Anything that would make a shell do more than split words (`;`, `|`, `&`,
//! redirections, `$` expansion, backquotes, subshells, a second command on a new line) is
//! refused with an error naming the character: the input is untrusted and is never handed to
//! a shell, so accepting such syntax would only pretend to run it.
//!
//! Also here, shared by the rule and route parsers: splitting a script into commands, the
//! helpers that build errors about a word, and the edit-distance suggestion behind every
//! "did you mean".

use super::ParseError;

/// One word of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The word as the program would receive it: quotes removed, escapes resolved.
    pub text: String,
    /// 0-based char column of the word's first character (its opening quote, if quoted).
    pub col: usize,
}

/// Splits `line` into words. See the module docs for what is accepted.
pub(crate) fn split(line: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    loop {
        // Blanks and line continuations between words.
        while i < chars.len() {
            match chars[i] {
                ' ' | '\t' | '\r' => i += 1,
                '\\' if chars.get(i + 1) == Some(&'\n') => i += 2,
                '\\' if chars.get(i + 1) == Some(&'\r') && chars.get(i + 2) == Some(&'\n') => {
                    i += 3
                }
                _ => break,
            }
        }
        if i >= chars.len() || chars[i] == '#' {
            return Ok(tokens);
        }
        let col = i;
        let mut text = String::new();
        while i < chars.len() {
            let c = chars[i];
            match c {
                ' ' | '\t' | '\r' => break,
                '\n' => {
                    return Err(ParseError::new(
                        i,
                        "\\n",
                        "a line break inside a command",
                        "one command per line (end a line with \\ to continue it)",
                    ));
                }
                '\'' => {
                    let close = find(&chars, i + 1, '\'').ok_or_else(|| unterminated(i, '\''))?;
                    text.extend(&chars[i + 1..close]);
                    i = close + 1;
                }
                '"' => {
                    i = double_quoted(&chars, i, &mut text)?;
                }
                '\\' => match chars.get(i + 1) {
                    Some('\n') => i += 2,
                    Some('\r') if chars.get(i + 2) == Some(&'\n') => i += 3,
                    Some(&next) => {
                        text.push(next);
                        i += 2;
                    }
                    None => {
                        return Err(ParseError::new(
                            i,
                            "\\",
                            "a backslash at the end of the line",
                            "a character after the backslash, or nothing",
                        ));
                    }
                },
                ';' | '&' | '|' | '<' | '>' | '(' | ')' | '`' | '$' => {
                    return Err(ParseError::new(
                        i,
                        c.to_string(),
                        format!("shell syntax {:?}", c.to_string()),
                        "plain arguments (quote the character if it is meant literally): \
                         commands are run directly, never through a shell",
                    ));
                }
                _ => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        tokens.push(Token { text, col });
    }
}

/// Reads a `"..."` word part starting at the opening quote at `open`; returns the index after
/// the closing quote. Inside double quotes a shell expands `$` and backquotes, which is refused.
fn double_quoted(chars: &[char], open: usize, text: &mut String) -> Result<usize, ParseError> {
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok(i + 1),
            '\\' => match chars.get(i + 1) {
                Some('\n') => i += 2,
                Some(&c @ ('"' | '\\' | '$' | '`')) => {
                    text.push(c);
                    i += 2;
                }
                // A shell keeps a backslash before any other character inside double quotes.
                _ => {
                    text.push('\\');
                    i += 1;
                }
            },
            c @ ('$' | '`') => {
                return Err(ParseError::new(
                    i,
                    c.to_string(),
                    format!("shell expansion {:?} inside double quotes", c.to_string()),
                    "literal text (use single quotes, or escape it with a backslash)",
                ));
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(unterminated(open, '"'))
}

fn find(chars: &[char], from: usize, wanted: char) -> Option<usize> {
    chars
        .get(from..)?
        .iter()
        .position(|&c| c == wanted)
        .map(|p| p + from)
}

fn unterminated(col: usize, quote: char) -> ParseError {
    ParseError::new(
        col,
        quote.to_string(),
        format!("unterminated quote {quote}"),
        format!("a closing {quote} before the end of the line"),
    )
}

/// An error about the word `at`.
pub(crate) fn err(
    at: &Token,
    problem: impl Into<String>,
    expected: impl Into<String>,
) -> ParseError {
    ParseError::new(at.col, at.text.clone(), problem, expected)
}

/// A word as messages show it: quoted, with anything unprintable escaped, so that untrusted
/// input cannot put control characters on an instructor's terminal.
pub(crate) fn q(word: &str) -> String {
    format!("{word:?}")
}

/// The error for a word that is not an interface name; rules and routes name interfaces alike.
pub(crate) fn iface_error(tok: &Token, e: &super::IfaceError) -> ParseError {
    err(
        tok,
        format!("invalid interface {} ({e})", q(&tok.text)),
        "an interface name of up to 15 letters, digits, _ . - such as eth0",
    )
}

/// One command of a script (a file of commands, as students hand in): its text, including any
/// backslash-continued lines, and the 1-based line it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptCommand<'a> {
    pub line: usize,
    pub text: &'a str,
}

impl ScriptCommand<'_> {
    /// The 1-based line and 0-based char column in the script of char column `col` of
    /// [`ScriptCommand::text`], for reporting a [`ParseError`] as file:line:col.
    pub fn position(&self, col: usize) -> (usize, usize) {
        let mut line = self.line;
        let mut column = 0;
        for c in self.text.chars().take(col) {
            if c == '\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
        }
        (line, column)
    }
}

/// Splits a script into commands: one per line, a line ending in a backslash continuing on
/// the next (as course material writes long iptables commands), blank lines and lines that
/// start with `#` left out. Each command's text can be given to the parsers as it is.
pub fn script_commands(script: &str) -> Vec<ScriptCommand<'_>> {
    let mut commands = Vec::new();
    // Byte offset and 1-based line of the command being read, once it has begun.
    let mut start: Option<(usize, usize)> = None;
    let mut offset = 0;
    for (index, raw) in script.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let skip = line.trim().is_empty() || line.trim_start().starts_with('#');
        if start.is_none() && skip {
            continue;
        }
        let (begin, first) = *start.get_or_insert((line_start, index + 1));
        // An odd number of trailing backslashes escapes the line break.
        let backslashes = line.chars().rev().take_while(|&c| c == '\\').count();
        if backslashes % 2 == 1 && offset < script.len() {
            continue;
        }
        commands.push(ScriptCommand {
            line: first,
            text: &script[begin..line_start + line.len()],
        });
        start = None;
    }
    commands
}

/// The candidate closest to `word` by edit distance (case-insensitive), if it is close enough
/// to be a plausible misspelling: at most 2 edits, and at most one edit per three chars so that
/// short words do not collect random suggestions. An exact case-insensitive match counts (a
/// student writing `accept` for `ACCEPT`).
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Untrusted input can be long; a misspelling of a keyword never is.
    if word.len() > 64 {
        return None;
    }
    let word = word.to_ascii_lowercase();
    let len = word.chars().count();
    let close = candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|&(d, _)| d <= 2 && d * 3 <= len)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c);
    // A cut-short word (`MASQ`, `icmp-host-unreach`) names the one candidate it begins.
    let mut extended = candidates
        .iter()
        .filter(|c| len >= 3 && c.to_ascii_lowercase().starts_with(&word));
    close.or_else(|| match (extended.next(), extended.next()) {
        (Some(only), None) => Some(*only),
        _ => None,
    })
}

/// Edit distance over chars where insertion, deletion, substitution and the transposition of
/// two neighbours each cost one (optimal string alignment): `DORP` is one typo from `DROP`.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<(String, usize)> {
        split(line)
            .unwrap()
            .into_iter()
            .map(|t| (t.text, t.col))
            .collect()
    }

    #[test]
    fn plain_words_carry_char_columns() {
        assert_eq!(
            words("  -A  INPUT -j ACCEPT"),
            vec![
                ("-A".into(), 2),
                ("INPUT".into(), 6),
                ("-j".into(), 12),
                ("ACCEPT".into(), 15)
            ]
        );
        // Columns count chars, not bytes.
        assert_eq!(words("é -j")[1], ("-j".into(), 2));
    }

    #[test]
    fn quotes_and_escapes_resolve_like_a_shell() {
        assert_eq!(words(r#"--log-prefix "x: ""#)[1], ("x: ".into(), 13));
        assert_eq!(words("'a b'c")[0].0, "a bc");
        assert_eq!(words(r#""a\"b\\c\d""#)[0].0, r#"a"b\c\d"#);
        assert_eq!(words(r"a\ b")[0].0, "a b");
        assert_eq!(words(r#""""#)[0].0, "");
        assert_eq!(words("'it''s'")[0].0, "its");
    }

    #[test]
    fn continuation_lines_join_and_comments_end_the_line() {
        let w = words("-A OUTPUT \\\n    -j DROP # block it");
        assert_eq!(w.len(), 4);
        assert_eq!(w[2], ("-j".into(), 16));
        assert_eq!(words("a\\\r\nb"), vec![("ab".into(), 0)]);
        assert!(words("# only a comment").is_empty());
        assert_eq!(words("a#b")[0].0, "a#b");
    }

    #[test]
    fn shell_syntax_is_refused_with_its_column() {
        for (line, col, token) in [
            ("-A INPUT; rm -rf /", 8, ";"),
            ("-j ACCEPT && reboot", 10, "&"),
            ("-j ACCEPT | tee", 10, "|"),
            ("-j ACCEPT > /etc/x", 10, ">"),
            ("-s $(curl x)", 3, "$"),
            ("-s `id`", 3, "`"),
            ("--log-prefix \"$HOME\"", 14, "$"),
            ("-j ACCEPT\n-j DROP", 9, "\\n"),
        ] {
            let e = split(line).unwrap_err();
            assert_eq!((e.col, e.token.as_str()), (col, token), "{line}");
        }
    }

    #[test]
    fn unterminated_quotes_point_at_the_opening_quote() {
        let e = split("--log-prefix 'abc").unwrap_err();
        assert_eq!(e.col, 13);
        assert_eq!(
            e.to_string(),
            "unterminated quote ': expected a closing ' before the end of the line"
        );
        assert_eq!(split("\"abc").unwrap_err().col, 0);
        assert_eq!(split("abc\\").unwrap_err().col, 3);
    }

    #[test]
    fn scripts_split_into_commands_with_their_lines() {
        let script = "# homework\n\nsudo iptables -t nat -A PREROUTING -i eth0 \\\n  -p tcp --dport 21 \\\r\n  -j REDIRECT --to-port 27664\nip route get 8.8.8.8\r\n  # done\n-A INPUT \\";
        let commands = script_commands(script);
        let lines: Vec<usize> = commands.iter().map(|c| c.line).collect();
        assert_eq!(lines, [3, 6, 8]);
        assert!(commands[0].text.starts_with("sudo iptables"));
        assert!(commands[0].text.ends_with("--to-port 27664"));
        assert_eq!(commands[1].text, "ip route get 8.8.8.8");
        assert_eq!(commands[2].text, "-A INPUT \\");
        // A column inside the third physical line of the first command.
        let col = commands[0].text.chars().position(|c| c == 'j').unwrap();
        assert_eq!(commands[0].position(col), (5, 3));
        assert_eq!(commands[0].position(5), (3, 5));
        let words: Vec<String> = split(commands[0].text)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(words.len(), 16);
        assert!(script_commands("").is_empty());
        assert!(script_commands("\n# x\n   \n").is_empty());
        assert_eq!(script_commands("a\\\\\nb").len(), 2);
    }

    #[test]
    fn suggestions_are_close_and_case_insensitive() {
        let targets = ["ACCEPT", "DROP", "REJECT", "REDIRECT", "LOG"];
        assert_eq!(suggest("REDIRCT", &targets), Some("REDIRECT"));
        assert_eq!(suggest("accept", &targets), Some("ACCEPT"));
        assert_eq!(suggest("DORP", &targets), Some("DROP"));
        assert_eq!(suggest("MYCHAIN", &targets), None);
        assert_eq!(suggest("REDIR", &targets), Some("REDIRECT"));
        assert_eq!(suggest("RE", &targets), None);
        assert_eq!(suggest("REJ", &targets), Some("REJECT"));
        assert_eq!(suggest("X", &targets), None);
        assert_eq!(suggest("ACCPET", &targets), Some("ACCEPT"));
        assert_eq!(suggest(&"A".repeat(100), &targets), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
