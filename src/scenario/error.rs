//! Scenario errors: always a place (file, line, column), what is wrong, and a hint where one
//! helps. The rendering quotes the offending line with a caret under the column, like rustc.

use std::fmt;
use std::ops::Range;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub msg: String,
    pub hint: Option<String>,
    /// The source line and the width of the underline.
    excerpt: Option<(String, usize)>,
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error about the file as a whole (cannot read it, no such scenario).
    pub fn io(path: &Path, msg: String) -> ScenarioError {
        ScenarioError {
            file: path.display().to_string(),
            line: 0,
            col: 0,
            msg,
            hint: None,
            excerpt: None,
        }
    }

    /// An error at a byte span of the scenario text.
    pub fn at(file: &str, text: &str, span: Range<usize>, msg: impl Into<String>) -> ScenarioError {
        let start = span.start.min(text.len());
        let before = &text[..floor_char_boundary(text, start)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..floor_char_boundary(text, start)]
            .chars()
            .count()
            + 1;
        let line_text = text[line_start..].lines().next().unwrap_or("").to_string();
        let end = floor_char_boundary(text, span.end.max(start).min(text.len()));
        let width = text[floor_char_boundary(text, start)..end]
            .lines()
            .next()
            .map_or(1, |s| s.chars().count().max(1));
        ScenarioError {
            file: file.to_string(),
            line,
            col,
            msg: msg.into(),
            hint: None,
            excerpt: Some((line_text, width)),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ScenarioError {
        self.hint = Some(hint.into());
        self
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.msg)?;
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.msg)?;
        }
        if let Some((line_text, width)) = &self.excerpt {
            let gutter = self.line.to_string().len();
            let pad = " ".repeat(gutter);
            write!(f, "\n{pad} |\n{} | {line_text}\n{pad} | ", self.line)?;
            write!(f, "{}{}", " ".repeat(self.col - 1), "^".repeat(*width))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_from_byte_span() {
        let text = "a = 1\nports = [70000]\n";
        let e = ScenarioError::at("x.toml", text, 15..20, "port 70000 is out of range");
        assert_eq!((e.line, e.col), (2, 10));
        let shown = e.to_string();
        assert!(
            shown.starts_with("x.toml:2:10: port 70000 is out of range"),
            "{shown}"
        );
        assert!(
            shown.contains("2 | ports = [70000]\n  |          ^^^^^"),
            "{shown}"
        );
    }

    #[test]
    fn span_inside_a_multibyte_character_does_not_panic() {
        let text = "name = \"é\"\n";
        let e = ScenarioError::at("x.toml", text, 9..10, "bad");
        assert_eq!(e.line, 1);
    }
}
