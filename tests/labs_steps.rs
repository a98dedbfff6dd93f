//! Network steps in a real lab, through `labctl run`: deleting and replacing routes, taking a
//! link down; and a scenario whose network expectation fails says what it saw.

mod kit;

use kit::{labctl, labctl_json, scratch};

fn run(scenario: &str, out: &std::path::Path) -> (Option<i32>, serde_json::Value, String) {
    let (o, report) = labctl_json(
        labctl()
            .args(["run", scenario, "--json", "--out"])
            .arg(out)
            .current_dir(env!("CARGO_MANIFEST_DIR")),
    );
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code(), report, stderr)
}

#[test]
fn routes_and_links_change_while_the_lab_runs() {
    let out = scratch("steps");
    let (code, report, stderr) = run("tests/scenarios/steps-link-route.toml", &out);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    let steps = report["steps"].as_array().unwrap();
    assert!(
        steps[2]["detail"]
            .as_str()
            .unwrap()
            .contains("network is unreachable")
    );
    assert_eq!(steps[6]["outcome"], "timed-out");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_wrong_counter_or_missing_fact_fails_and_says_what_was_seen() {
    let dir = scratch("wrong-facts");
    std::fs::create_dir_all(&dir).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/filter-reject-router.toml"))
        .unwrap()
        .replacen("packets = 1", "packets = 5", 1)
        .replace("host-unreachable (3/1)", "port-unreachable (3/3)");
    let file = dir.join("filter-reject-router.toml");
    std::fs::write(&file, text).unwrap();
    let (code, report, stderr) = run(file.to_str().unwrap(), &dir.join("out"));
    assert_eq!(code, Some(1), "{report:#}\n{stderr}");
    let failed: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| format!("{}: {}", c["name"], c["detail"]))
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    // The same counter by position still holds: 1 packet.
    assert!(
        failed[0].contains("5 packets") && failed[0].contains("1 packets matched"),
        "{failed:?}"
    );
    assert!(failed[1].contains("no such line"), "{failed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
