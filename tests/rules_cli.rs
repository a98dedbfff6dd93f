//! Every malformed or unsupported iptables line of the corpus, put in a scenario and given to
//! the real `labctl run`: exit 2, the error names the file, the word at fault and what was
//! expected, and nothing is built (no artifacts directory).

mod kit;

use kit::rules_corpus as corpus;
use kit::{run_refused, scratch};

fn scenario(rule: &str) -> String {
    // The rule as a TOML basic string, whatever it holds.
    let quoted = toml::Value::String(rule.to_string()).to_string();
    format!(
        "name = \"bad-rule\"\n[hosts.client]\n[hosts.server]\n\
         [[links]]\nends = [\"client:eth0 10.0.0.1/24\", \"server:eth0 10.0.0.2/24\"]\n\
         [[rules]]\nhost = \"server\"\niptables = {quoted}\n"
    )
}

#[test]
fn every_bad_rule_exits_2_naming_the_word_and_builds_nothing() {
    assert!(corpus::INVALID.len() >= 30);
    let dir = scratch("rules-cli");
    let file = dir.join("bad-rule.toml");
    let out = dir.join("out");
    for &(line, token) in corpus::INVALID {
        std::fs::write(&file, scenario(line)).unwrap();
        let stderr = run_refused(&file, &out, line);
        assert!(
            stderr.contains(&format!("{}:8:", file.display())),
            "{line:?}: the error names the file and the rule's line: {stderr}"
        );
        assert!(stderr.contains(": expected "), "{line:?}: {stderr}");
        // The word at fault is quoted in the message and underlined in the excerpt.
        assert!(
            stderr.contains(token),
            "{line:?}: {token:?} not named: {stderr}"
        );
        assert!(stderr.contains('^'), "{line:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
