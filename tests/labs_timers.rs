//! Kernel timers inside a real lab, through `labctl run`: the neighbour and ICMP settings a lab's
//! facts depend on read back from the hosts' own /proc, and a telnet step with `syns` that ends
//! as its last SYN leaves rather than at its safety bound.

mod kit;

use labctl::topology::NEIGHBOUR_TIMERS;

#[test]
fn pinned_timers_read_back_inside_the_lab_and_syns_end_the_step() {
    let out = kit::scratch("labs-timers").join("run");
    let scenario = kit::root().join("tests/scenarios/kernel-timers.toml");
    let (o, report) = kit::run_json(&scenario, &out);
    kit::assert_exit(&o, 0);
    let steps = report["steps"].as_array().unwrap();
    let stdout = |i: usize| -> Vec<String> {
        steps[i]["stdout"]
            .as_str()
            .unwrap_or_else(|| panic!("step {i} printed nothing: {report:#}"))
            .lines()
            .map(str::to_string)
            .collect()
    };
    // Step 0 is the router's rule; then the client's eth0 and the router's eth1.
    let pinned: Vec<String> = NEIGHBOUR_TIMERS
        .iter()
        .map(|(_, v)| v.to_string())
        .collect();
    for i in [1, 2] {
        assert_eq!(stdout(i), pinned, "step {i}: {:?}", steps[i]["title"]);
    }
    // Whatever the constant says, no entry may be re-validated within a lab's lifetime: a
    // stale entry waits at least a minute, a reachable one stays so for at least a minute.
    let lines = stdout(1);
    let base_ms: u64 = lines[0].parse().unwrap();
    let delay_s: u64 = lines[1].parse().unwrap();
    assert!(base_ms / 2 >= 60_000 && delay_s >= 60, "{lines:?}");
    // No ICMP type is rate-limited, and the per-destination limit is off.
    assert_eq!(stdout(3), ["0", "0"]);

    // The second SYN leaves about 1 s after the first: the step ends then, not at its 30 s
    // bound (15 s leaves room for a busy machine and still tells the two apart).
    let telnet = &steps[4];
    assert_eq!(telnet["outcome"], "timed-out", "{telnet:#}");
    let took = telnet["took"].as_f64().unwrap();
    assert!(
        (900.0..15_000.0).contains(&took),
        "took {took} ms: {telnet:#}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
