//! The scenario format as a new user meets it: README's "Writing a scenario" documents every
//! key a scenario file can have (read from the raw structs serde fills, so a key added there
//! and not documented fails here) and every service kind; and the first mistake a user made,
//! `[hosts.client.routes]` written as a table, is answered through the binary with an example.

mod kit;

use kit::{run_refused, scratch_file};

/// The README's "Writing a scenario" section, down to the next `## ` heading.
fn writing_a_scenario() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let start = readme
        .find("\n## Writing a scenario")
        .expect("README has a \"Writing a scenario\" section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// Every key of the scenario file: the fields of the `Raw*` structs, by their TOML name.
fn keys() -> Vec<(String, String)> {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/scenario/parse/raw.rs"
    ))
    .expect("read raw.rs");
    let mut keys = Vec::new();
    let mut table = None;
    let mut rename = None;
    for line in raw.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub(super) struct Raw") {
            table = rest.split_whitespace().next().map(str::to_string);
        } else if line.starts_with("pub(super) struct") || line == "}" {
            table = None;
        } else if let Some(r) = line.strip_prefix("#[serde(rename = \"") {
            rename = r.split('"').next().map(str::to_string);
        } else if let (Some(t), Some(field)) = (&table, line.strip_prefix("pub(super) ")) {
            let name = field.split(':').next().unwrap().trim().to_string();
            keys.push((t.clone(), rename.take().unwrap_or(name)));
        }
    }
    keys
}

#[test]
fn the_readme_documents_every_key_and_service_kind() {
    let doc = writing_a_scenario();
    let keys = keys();
    // The structs of the whole file, a host, a link, a switch, a service, a rule, a step and an
    // expectation: a parse of raw.rs that finds fewer is broken, not a README in order.
    let tables: std::collections::BTreeSet<&str> = keys.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tables.into_iter().collect::<Vec<_>>(),
        [
            "Expect", "Host", "Link", "Rule", "Scenario", "Service", "Step", "Switch"
        ]
    );
    assert!(keys.len() > 80, "{keys:?}");
    let documented = |key: &str| {
        let is_key = regex::Regex::new(&format!(r"(^|[\s{{\[,#(`.]){key}\s*=")).unwrap();
        let is_table = [format!("[{key}."), format!("[[{key}]]")];
        is_key.is_match(&doc) || is_table.iter().any(|t| doc.contains(t.as_str()))
    };
    let missing: Vec<String> = keys
        .iter()
        .filter(|(_, key)| !documented(key))
        .map(|(table, key)| format!("{key} (Raw{table})"))
        .collect();
    assert!(
        missing.is_empty(),
        "README's \"Writing a scenario\" does not show these keys as `key = ...`: {missing:?}"
    );
    let parse = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/scenario/parse.rs"
    ))
    .unwrap();
    let list = parse
        .split("const SERVICE_KINDS: &[&str] = &[")
        .nth(1)
        .and_then(|r| r.split("];").next())
        .expect("SERVICE_KINDS in parse.rs");
    for kind in list
        .split(',')
        .map(|k| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty())
    {
        assert!(
            doc.contains(&format!("kind = \"{kind}\"")),
            "README does not show kind = \"{kind}\""
        );
    }
}

#[test]
fn routes_written_as_a_table_get_an_example_through_the_binary() {
    let (dir, file) = scratch_file(
        "routes-table",
        "routes.toml",
        "name = \"routes\"\n[hosts.client]\n[hosts.client.routes]\ndefault = \"via 10.0.0.254\"\n\
         [hosts.router]\n[[links]]\nends = [\"client:eth0 10.0.0.1/24\", \"router:eth0 10.0.0.254/24\"]\n",
    );
    let stderr = run_refused(&file, &dir.join("out"), "routes as a table");
    assert!(
        stderr.contains(&format!("{}:3:", file.display())),
        "the error names the table's line: {stderr}"
    );
    assert!(
        stderr.contains("invalid type: map, expected a sequence"),
        "{stderr}"
    );
    let hint = stderr
        .lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint: {stderr}"));
    assert!(
        hint.contains("routes = [\"default via 10.0.0.254\""),
        "the hint shows routes as a list: {hint}"
    );
    // The example in the hint is itself a valid scenario line.
    let example = hint
        .split("routes = ")
        .nth(1)
        .expect("an example")
        .to_string();
    let fixed = format!(
        "name = \"routes\"\n[hosts.client]\nroutes = {example}\n[hosts.router]\n\
         [[links]]\nends = [\"client:eth0 10.0.0.1/24\", \"router:eth0 10.0.0.254/24\"]\n\
         [[steps]]\nhost = \"nobody\"\nwait = \"1s\"\n"
    );
    std::fs::write(&file, fixed).unwrap();
    let stderr = run_refused(&file, &dir.join("out"), "the hint's example");
    // Only the deliberate bad host remains: the routes of the hint were read.
    assert!(stderr.contains("unknown host \"nobody\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
