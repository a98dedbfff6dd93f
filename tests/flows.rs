//! Expected flow snapshots of every built-in scenario, checked with insta on the same files
//! `labctl run` and `labctl test` compare (`scenarios/snapshots/<name>.snap`). After a
//! deliberate change, `cargo insta review` (or `labctl test --bless`) updates them.

use std::process::Command;

#[test]
fn flows_of_every_scenario() {
    let dir = std::env::temp_dir().join(format!("labctl-flows-{}", std::process::id()));
    for scenario in labctl::scenario::BUILTIN {
        let out = dir.join(scenario.name);
        let output = Command::new(env!("CARGO_BIN_EXE_labctl"))
            .args([
                "run",
                scenario.name,
                "--json",
                "--out",
                out.to_str().unwrap(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                panic!(
                    "{}: no report ({e}): {}",
                    scenario.name,
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        let flows = report["flows"].as_str().unwrap().to_string();
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => false,
        }, {
            insta::assert_snapshot!(scenario.name, flows);
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
}
