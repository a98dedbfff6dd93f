//! Rules stage (interim: the typed parser lands from the rules branch).
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub fn parse_rule(line: &str) -> Result<Rule, RuleError> {
    Ok(Rule { args: line.split_whitespace().map(String::from).collect() })
}

impl Rule {
    pub fn argv(&self) -> Vec<String> {
        self.args.clone()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.args.join(" "))
    }
}
