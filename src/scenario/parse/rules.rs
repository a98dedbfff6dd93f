//! `[[rules]]`: single iptables rules (`iptables = "-A INPUT ..."`) and rules files (`file =
//! "rules.v4"`, as `iptables-save` writes them), in the order the scenario gives them.
//!
//! Contract: every rule, single or from a file, is read by the one rule parser
//! (`rules::parse_rule`, through `rules::parse_restore` for files) and applied to a model of
//! its host's rule set (`rules::eval::Ruleset`), so a rule that iptables would refuse in that
//! state (a jump to a chain nobody created, a chain the table lacks) is refused here, before
//! anything runs. A file's problem is reported at its own `file:line:col`, with the line and a
//! caret, like a scenario's. A file is named relative to the scenario file; a built-in
//! scenario's files are embedded beside it (see `builtin::builtin_file`).

use std::path::Path;

use crate::rules::eval::Ruleset;

use super::*;

const FILE_HINT: &str = "a rules file as iptables-save writes it: *filter, :INPUT DROP [0:0], \
                         -A INPUT -p tcp --dport 22 -j ACCEPT, COMMIT";

/// The single rules and the rules files of the scenario.
pub(super) fn rules(
    cx: &Ctx,
    raw: &[RawRule],
    resolver: &Resolver,
    origin: &Origin,
) -> Result<(Vec<RulePlan>, Vec<RulesFilePlan>), ScenarioError> {
    let mut rules = Vec::new();
    let mut files = Vec::new();
    // Each host's rules so far, as the kernel will hold them.
    let mut sets: BTreeMap<HostId, Ruleset> = BTreeMap::new();
    for entry in raw {
        let host = resolver.host_value(&entry.host)?;
        // `Ruleset::new`, with the built-in chains of every table, not the empty `default`.
        #[allow(clippy::unwrap_or_default)]
        let set = sets.entry(host).or_insert_with(Ruleset::new);
        match (&entry.iptables, &entry.file) {
            (Some(line), None) => {
                let rule = parse_iptables(cx, line)?;
                set.apply(&rule, cx.line(&line.span())).map_err(|problem| {
                    cx.err(
                        cx.inner(line),
                        format!("iptables would refuse this rule: {problem}"),
                    )
                    .with_hint("create a user chain with -N before rules jump to it or add to it")
                })?;
                rules.push(RulePlan { host, rule });
            }
            (None, Some(name)) => {
                let (shown, text) = read_file(cx, name, origin)?;
                let commands = crate::rules::parse_restore(&text, set)
                    .map_err(|e| file_error(&shown, &text, &e))?;
                files.push(RulesFilePlan {
                    host,
                    name: name.get_ref().clone(),
                    text,
                    commands,
                    after: rules.len(),
                });
            }
            (Some(_), Some(file)) => {
                return Err(cx
                    .err(cx.inner(file), "a rule has iptables or file, not both")
                    .with_hint("one [[rules]] table per rule or per file"));
            }
            (None, None) => {
                return Err(cx
                    .err(entry.host.span(), "a rule needs iptables or file")
                    .with_hint(
                        "iptables = \"-A INPUT -p tcp --dport 22 -j ACCEPT\", or file = \
                         \"rules.v4\" (an iptables-save file beside the scenario)",
                    ));
            }
        }
    }
    Ok((rules, files))
}

/// The file's name for messages and its text: beside the scenario file, or embedded with a
/// built-in scenario.
fn read_file(
    cx: &Ctx,
    name: &Spanned<String>,
    origin: &Origin,
) -> Result<(String, String), ScenarioError> {
    check_relative_file(cx, name)
        .map_err(|e| e.with_hint("a rules file is named relative to the scenario file"))?;
    match origin {
        Origin::File(scenario) => {
            let path = scenario
                .parent()
                .unwrap_or(Path::new("."))
                .join(name.get_ref());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                cx.err(
                    cx.inner(name),
                    format!("cannot read rules file {}: {e}", path.display()),
                )
                .with_hint("paths are relative to the scenario file's directory")
            })?;
            Ok((path.display().to_string(), text))
        }
        Origin::Builtin(_) => {
            let text = crate::scenario::builtin_file(name.get_ref()).ok_or_else(|| {
                cx.err(
                    cx.inner(name),
                    format!("no file {} is built in beside the scenario", name.get_ref()),
                )
                .with_hint("a built-in scenario's files live under scenarios/ in the source tree")
            })?;
            Ok((format!("builtin:{}", name.get_ref()), text.to_string()))
        }
    }
}

/// A rules file's error at its place in that file.
fn file_error(shown: &str, text: &str, e: &crate::rules::RestoreError) -> ScenarioError {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line - 1)
        .map(str::len)
        .sum();
    let line = text[line_start.min(text.len())..]
        .lines()
        .next()
        .unwrap_or("");
    let offset: usize = line.chars().take(e.error.col).map(char::len_utf8).sum();
    let start = line_start + offset;
    let width = e.error.token.len().max(1);
    let err = ScenarioError::at(
        shown,
        text,
        start..start + width,
        format!("{}: expected {}", e.error.problem, e.error.expected),
    );
    match &e.error.suggestion {
        Some(s) => err.with_hint(format!("did you mean {s}?")),
        None => err.with_hint(FILE_HINT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name = \"t\"\n[hosts.a]\n[hosts.b]\n[[links]]\n\
                        ends = [\"a:eth0 10.0.0.1/24\", \"b:eth0 10.0.0.2/24\"]\n";

    fn plan(rules: &str, file: &str) -> Result<Plan, ScenarioError> {
        // Tests run at once: each call has a directory of its own.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("labctl-rules-unit-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rules.v4"), file).unwrap();
        let path = dir.join("t.toml");
        let text = format!("{HEAD}{rules}");
        let plan = super::super::parse(&text, Origin::File(path));
        let _ = std::fs::remove_dir_all(&dir);
        plan
    }

    const FILE: &str = "*filter\n:INPUT DROP [0:0]\n:SERVICES - [0:0]\n\
                        -A INPUT -j SERVICES\nCOMMIT\n";

    #[test]
    fn files_and_single_rules_keep_the_scenario_order_and_share_the_hosts_rules() {
        let p = plan(
            "[[rules]]\nhost = \"b\"\niptables = \"-A INPUT -i lo -j ACCEPT\"\n\
             [[rules]]\nhost = \"b\"\nfile = \"rules.v4\"\n\
             [[rules]]\nhost = \"b\"\niptables = \"-A SERVICES -p tcp --dport 22 -j ACCEPT\"\n",
            FILE,
        )
        .unwrap();
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rule_files.len(), 1);
        let f = &p.rule_files[0];
        assert_eq!((f.host, f.after, f.commands.len()), (1, 1, 3));
        assert_eq!(f.text, FILE);
        // Each host has its own rules: the chain the file declares on b does not exist on a.
        let e = plan(
            "[[rules]]\nhost = \"b\"\nfile = \"rules.v4\"\n\
             [[rules]]\nhost = \"a\"\niptables = \"-A SERVICES -j ACCEPT\"\n",
            FILE,
        )
        .unwrap_err();
        assert!(e.msg.contains("no chain SERVICES in filter"), "{e}");
        assert_eq!(e.line, 11, "{e}");
    }

    #[test]
    fn a_rule_needs_one_of_iptables_and_file() {
        let e = plan("[[rules]]\nhost = \"b\"\n", FILE).unwrap_err();
        assert!(e.msg.contains("needs iptables or file"), "{e}");
        let e = plan(
            "[[rules]]\nhost = \"b\"\nfile = \"rules.v4\"\niptables = \"-A INPUT -j DROP\"\n",
            FILE,
        )
        .unwrap_err();
        assert!(e.msg.contains("not both"), "{e}");
        let e = plan("[[rules]]\nhost = \"b\"\nfile = \"../rules.v4\"\n", FILE).unwrap_err();
        assert!(e.msg.contains("bad file name"), "{e}");
    }
}
