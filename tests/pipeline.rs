//! The whole pipeline on the real kernel: `labctl run homework-redirect` end to end, as root and
//! as an unprivileged user, bad scenarios refused before anything is built, runs killed at
//! random moments leaving nothing on the host, and the same flows run after run.

mod kit;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use kit::{assert_exit, labctl, labctl_json, require, scratch, stage_names};

fn run_json(args: &[&str]) -> (Output, serde_json::Value) {
    labctl_json(labctl().args(args).arg("--json"))
}

#[test]
fn homework_redirect_end_to_end() {
    require("tshark", "tshark");
    let out = scratch("homework");
    let (output, report) = run_json(&["run", "homework-redirect", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "report: {report:#}");
    assert_eq!(report["passed"], true);

    let dump = std::fs::read(out.join("hosts/server/dump.txt")).unwrap();
    assert_eq!(dump, b"hello on 27664\r\nhello through 21\r\n");

    let pcap = out.join("server-eth0.pcap");
    let tshark = |filter: &str| -> Vec<String> {
        let o = Command::new("tshark")
            .args([
                "-r",
                pcap.to_str().unwrap(),
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.number",
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "tshark: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(String::from)
            .collect()
    };
    assert!(
        tshark("_ws.malformed || _ws.expert.severity >= error").is_empty(),
        "tshark finds malformed frames"
    );
    // The conversation to 21 is answered from 21 on the wire: SYN-ACK and FIN from port 21,
    // and 27664 appears only in the first conversation.
    assert_eq!(
        tshark("tcp.srcport == 21 && tcp.flags.syn == 1 && tcp.flags.ack == 1").len(),
        1
    );
    assert_eq!(
        tshark("tcp.srcport == 27664 && tcp.flags.syn == 1 && tcp.flags.ack == 1").len(),
        1
    );
    let stream_to_21 = tshark("tcp.port == 21");
    assert!(
        stream_to_21.len() >= 7,
        "handshake, data, close: {stream_to_21:?}"
    );
    assert!(tshark("tcp.port == 21 && tcp.port == 27664").is_empty());
    assert_eq!(
        tshark("tcp.payload contains \"hello through 21\" && tcp.dstport == 21").len(),
        1
    );
}

#[test]
fn homework_redirect_as_an_unprivileged_user() {
    // The binary and the output directory must be reachable by the user: copy the binary out
    // of a possibly private build directory.
    let dir = scratch("nonroot");
    let bin = dir.join("labctl");
    std::fs::copy(env!("CARGO_BIN_EXE_labctl"), &bin).unwrap();
    let out = dir.join("out");
    let chmod = Command::new("chmod")
        .args(["-R", "a+rwx"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chmod.success());
    require("setpriv", "util-linux");
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args([
            "run",
            "homework-redirect",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {stderr}\nstdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let dump = std::fs::read(out.join("hosts/server/dump.txt")).unwrap();
    assert_eq!(dump, b"hello on 27664\r\nhello through 21\r\n");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(out.join("server-eth0.pcap"))
            .unwrap()
            .uid(),
        65534,
        "artifacts belong to the user"
    );
}

/// Bad scenarios: exit 2, a message with file:line:col and a hint, and nothing created.
#[test]
fn bad_scenarios_exit_2_with_place_and_hint() {
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/homework-redirect.toml"),
    )
    .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("not-toml", "name = \"x\"\n[hosts.a\n".to_string(), ":2:"),
        (
            "unknown-host",
            good.replace("\"server:eth0 10.0.0.2/24\"", "\"sever:eth0 10.0.0.2/24\""),
            "unknown host \"sever\"",
        ),
        (
            "bad-cidr",
            good.replace("10.0.0.2/24", "10.0.0.2/40"),
            "bad prefix length",
        ),
        (
            "big-port",
            good.replace("port = 27664", "port = 70000"),
            "port 70000 is out of range",
        ),
        (
            "unknown-key",
            good.replace("capture = \"server\"", "captur = \"server\""),
            "unknown field `captur`",
        ),
        (
            "misspelt-target",
            good.replace("-j REDIRECT", "-j REDIRCT"),
            "did you mean REDIRECT?",
        ),
    ];
    let dir = scratch("bad");
    for (name, text, needle) in cases {
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = dir.join(format!("{name}-out"));
        let output = labctl()
            .args([
                "run",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr}");
        let place = format!("{}:", file.display());
        assert!(
            stderr.contains(&place),
            "{name} names no file:line:col: {stderr}"
        );
        let after = stderr.split(&place).nth(1).unwrap_or("");
        let mut fields = after.splitn(3, ':');
        let line_col = (
            fields.next().and_then(|l| l.parse::<u32>().ok()),
            fields.next().and_then(|c| c.parse::<u32>().ok()),
        );
        assert!(
            matches!(line_col, (Some(_), Some(_))),
            "{name}: no line and column in {stderr}"
        );
        assert!(
            stderr.contains("hint:") || name == "not-toml",
            "{name}: no hint: {stderr}"
        );
        assert!(
            !out.exists(),
            "{name}: the run's directory was created for a bad scenario"
        );
    }
}

fn host_state() -> String {
    // A command that fails prints nothing, and nothing equals nothing: the comparison would
    // hold whatever the runs left behind, so each must succeed.
    let run = |program: &str, args: &[&str]| kit::stdout_of(Command::new(program).args(args));
    let links: Vec<String> = run("ip", &["-o", "link"])
        .lines()
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        .collect();
    // Rules only: counters and comments with dates change on their own.
    let rules: String = run("iptables-save", &[])
        .lines()
        .filter(|l| l.starts_with('-') || l.starts_with('*'))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "netns:\n{}\nlinks: {links:?}\nrules:\n{rules}",
        run("ip", &["netns", "list"])
    )
}

/// The processes whose environment holds `needle` (`NAME=value`).
fn marked(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sigkill_at_random_moments_leaves_nothing_behind() {
    require("iptables-save", "iptables");
    let before = host_state();
    let dir = scratch("kill");
    // How long a whole run takes on this machine: the moments are drawn within it.
    let started = std::time::Instant::now();
    let whole = labctl()
        .args(["run", "homework-redirect", "--out"])
        .arg(dir.join("whole"))
        .output()
        .unwrap();
    assert_exit(&whole, 0);
    let span = started.elapsed().as_micros().max(1) as u64;
    // A small deterministic generator: the moments vary over the whole run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    // Every process of these runs inherits this mark; other tests' runs do not have it.
    let mark = format!("kill-{}", std::process::id());
    let needle = format!("LABCTL_KILL_TEST={mark}");
    let mut seen = 0;
    let mut killed_running = 0;
    for i in 0..20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % span);
        let mut child = labctl()
            .args([
                "run",
                "homework-redirect",
                "--out",
                dir.join(i.to_string()).to_str().unwrap(),
            ])
            .env("LABCTL_KILL_TEST", &mark)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        // The search must see what it looks for, or its empty answer below proves nothing:
        // labctl is marked from its exec on (before spawn returns), so a labctl not found is
        // one that is ending (an exiting process shows an empty environment for a moment
        // before it can be waited for).
        let pid = child.id().to_string();
        let mut running = marked(&needle);
        let started = std::time::Instant::now();
        while !running.contains(&pid) && child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "run {i}: the mark is not seen on the running labctl {pid}: {running:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
            running = marked(&needle);
        }
        if running.contains(&pid) {
            killed_running += 1;
        }
        seen += running.len();
        let _ = child.kill();
        let _ = child.wait();
    }
    // Most moments fall inside a run (the moments are drawn within a whole run's time).
    assert!(
        killed_running >= 5,
        "only {killed_running} of 20 runs were still running when killed ({seen} processes seen)"
    );
    // The sandboxed process dies with its parent; give the kernel a moment to reap it.
    let mut left = Vec::new();
    for _ in 0..200 {
        left = marked(&needle);
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        left.is_empty(),
        "labctl processes survived SIGKILL: {left:?}"
    );
    assert_eq!(
        host_state(),
        before,
        "the host's namespaces, links or rules changed"
    );
}

#[test]
fn fifty_runs_give_the_same_flows() {
    let dir = scratch("repeat");
    let mut first: Option<String> = None;
    for i in 0..50 {
        let (output, report) = run_json(&[
            "run",
            "homework-redirect",
            "--out",
            dir.join(i.to_string()).to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(0), "run {i}: {report:#}");
        let flows = report["flows"].as_str().unwrap().to_string();
        match &first {
            None => first = Some(flows),
            Some(f) => assert_eq!(&flows, f, "run {i} differs"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Routes and a router: the client reaches a server on another subnet through a host that
/// forwards, and the server sees the client's own address.
#[test]
fn routes_through_a_router() {
    let (dir, scenario) = kit::scratch_file(
        "routed",
        "routed.toml",
        r#"
name = "routed"
[hosts.client]
routes = ["default via 10.0.1.254"]
[hosts.router]
forward = true
[hosts.server]
routes = ["10.0.1.0/24 via 198.51.100.254 dev eth0"]
[[links]]
ends = ["client:eth0 10.0.1.1/24", "router:eth0 10.0.1.254/24"]
[[links]]
ends = ["router:eth1 198.51.100.254/24", "server:eth0 198.51.100.10/24"]
capture = "server"
[services.dump]
host = "server"
kind = "tcp-dump"
port = 9000
file = "dump.txt"
[[steps]]
host = "client"
telnet = "server:9000"
send = "across the router\n"
[[expect]]
file = "server:dump.txt"
equals = "across the router\n"
[[expect]]
conversation = "client > server:9000"
handshake = "complete"
"#,
    );
    let (output, report) = run_json(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    let flows = report["flows"].as_str().unwrap();
    assert!(
        flows.contains("tcp client:* > server:9000  handshake complete"),
        "{flows}"
    );
}

/// `--keep`: the lab stays up after the last step, a printed command opens a program inside a
/// host (lab names resolve there), and Ctrl-C on the terminal's process group ends the lab with
/// the usual report.
#[test]
fn kept_lab_opens_a_shell_in_each_host_until_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    require("nsenter", "util-linux");
    let out = scratch("keep");
    let mut child = labctl()
        .args(["run", "homework-redirect", "--keep", "--json", "--out"])
        .arg(&out)
        .env("SHELL", "/bin/sh")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut commands = Vec::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("Ctrl-C") {
            break;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            let (host, command) = rest.trim().split_once(' ').unwrap();
            commands.push((host.to_string(), command.trim().to_string()));
        }
        line.clear();
    }
    assert_eq!(
        commands.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(),
        ["client", "server"],
        "{commands:?}"
    );
    let inside = |command: &str, program: &[&str]| {
        let mut argv: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(argv.pop(), Some("/bin/sh"), "{command}");
        let output = Command::new(argv[0])
            .args(&argv[1..])
            .args(program)
            .output()
            .unwrap();
        assert!(output.status.success(), "{command}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let addresses = inside(&commands[0].1, &["ip", "-br", "addr", "show", "eth0"]);
    assert!(addresses.contains("10.0.0.1/24"), "{addresses}");
    let resolved = inside(&commands[0].1, &["getent", "hosts", "server"]);
    assert!(resolved.starts_with("10.0.0.2"), "{resolved}");
    let addresses = inside(&commands[1].1, &["ip", "-br", "addr", "show", "eth0"]);
    assert!(addresses.contains("10.0.0.2/24"), "{addresses}");

    // Ctrl-C reaches the whole foreground process group, as at a terminal.
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], true);
    let stages = stage_names(&report);
    assert!(stages.contains(&"kept"), "{stages:?}");
    let _ = std::fs::remove_dir_all(&out);
}
