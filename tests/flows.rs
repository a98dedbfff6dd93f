//! Expected flow snapshots of every built-in scenario, checked with insta on the same files
//! `labctl run` and `labctl test` compare (`scenarios/snapshots/<name>.snap`). After a
//! deliberate change, `cargo insta review` (or `labctl test --bless`) updates them.

mod kit;

use kit::{labctl, labctl_json, scratch};

#[test]
fn flows_of_every_scenario() {
    let dir = scratch("flows");
    for scenario in labctl::scenario::BUILTIN {
        let out = dir.join(scenario.name);
        let (output, report) = labctl_json(
            labctl()
                .args(["run", scenario.name, "--json", "--out"])
                .arg(&out)
                .current_dir(env!("CARGO_MANIFEST_DIR")),
        );
        // A failed run still prints its flows; the snapshot alone would not notice.
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {report:#}",
            scenario.name
        );
        // What the snapshot holds: the alerts of a `snapshot = "alerts"` lab, else the flows.
        let flows = report["snapshot_text"]
            .as_str()
            .or(report["flows"].as_str())
            .unwrap()
            .to_string();
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
