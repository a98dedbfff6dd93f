//! Answers judged by what they mean, on captures of real traffic: `dig` against `labctl serve
//! dns` with a zone of competing MX records, and `nc` speaking FTP by hand to `labctl serve
//! ftp` over several control connections and several PASV replies, captured by `tcpdump` in
//! network namespaces. Each row of a table is one `answers.toml` graded with that capture
//! through `labctl grade LAB DIR --json`: it gets full marks, or loses exactly the answer's
//! points with feedback that says why. Then rubrics that state what they accept (`accept =
//! "exact"` on a rule check, `accept = [...]` and `bases` on an answer), from a copy of a lab
//! in a scratch `./labs`. Needs root, as the other grade tests.

mod kit;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use kit::grading::{check, grade, graded, lost};
use kit::process::Killed;
use kit::{Netns, labctl, require, scratch};

/// A client and a server namespace joined by a veth link, `eth0` on both sides.
fn pair(server_addr: &str) -> (Netns, Netns) {
    for (p, pkg) in [
        ("tcpdump", "tcpdump"),
        ("ip", "iproute2"),
        ("nsenter", "util-linux"),
        ("nc", "netcat-openbsd"),
        ("dig", "bind9-dnsutils"),
    ] {
        require(p, pkg);
    }
    Netns::pair(server_addr)
}

/// Stops tcpdump as Ctrl-C does, once the capture shows `done`.
fn stop(tcpdump: Killed, pcap: &Path, done: impl Fn(&labctl::analyze::Analysis) -> bool) {
    let start = Instant::now();
    while !labctl::analyze::analyze_file(pcap).is_ok_and(|a| done(&a)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the capture {} never showed the whole exchange",
            pcap.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(tcpdump.interrupt().success(), "tcpdump exit");
}

/// Retries `program args` in `ns` until it succeeds: the server is up.
fn until_ok(ns: &Netns, program: &str, args: &[&str]) {
    let start = Instant::now();
    while !ns
        .command(program)
        .args(args)
        .output()
        .unwrap()
        .status
        .success()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{program} {args:?} never succeeded: the server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A submission: commands.sh, the capture, and answers.toml.
fn hand_in(dir: &Path, commands: &str, pcap: &Path, answers: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("commands.sh"), commands).unwrap();
    std::fs::copy(pcap, dir.join(pcap.file_name().unwrap())).unwrap();
    std::fs::write(dir.join("answers.toml"), answers).unwrap();
    dir.to_path_buf()
}

/// One answers.toml of the table and the grade it must get: `says` empty for full marks,
/// else what the answer check's feedback says (placeholders filled per capture).
struct Row {
    capture: &'static str,
    answers: &'static str,
    says: &'static str,
}

const fn row(capture: &'static str, answers: &'static str, says: &'static str) -> Row {
    Row {
        capture,
        answers,
        says,
    }
}

/// Grades every row with its capture; `fill` puts the capture's facts into a row's text.
fn table(
    lab: &str,
    check_name: &str,
    commands: &str,
    captures: &[(&str, PathBuf)],
    rows: &[Row],
    fill: impl Fn(&str) -> String,
) {
    let root = scratch(&format!("answers-{lab}"));
    for (i, r) in rows.iter().enumerate() {
        let pcap = &captures.iter().find(|(n, _)| *n == r.capture).unwrap().1;
        let answers = fill(r.answers);
        let dir = hand_in(&root.join(format!("{i:02}")), commands, pcap, &answers);
        let g = grade(lab, &dir);
        let (points, feedback) = check(&g, check_name);
        if r.says.is_empty() {
            assert_eq!(
                g["score"], g["max"],
                "{answers:?} with {}: {g:#}",
                r.capture
            );
        } else {
            assert_eq!(lost(&g), [check_name], "{answers:?}: {g:#}");
            assert_eq!(points, 0);
            let says = fill(r.says);
            assert!(
                feedback.contains(&says),
                "{answers:?} with {}: {feedback:?} does not say {says:?}",
                r.capture
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// dns-query: dig against labctl's DNS server, zones with competing MX records.

/// The zone of example.test with these MX lines; the backup comes first in the zone, so it
/// comes first in the answer too: order is not preference.
fn zone(mx: &str) -> String {
    format!(
        "$ORIGIN example.test.\n$TTL 3600\n\
         @ IN SOA ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )\n  IN NS ns1\n{mx}\
         ns1 IN A 10.0.0.53\nmx1 IN A 192.0.2.25\nmx2 IN A 192.0.2.26\nbackup IN A 198.51.100.25\n"
    )
}

const COMPETING: &str = "  IN MX 20 backup\n  IN MX 10 mx1\n";
const TIED: &str = "  IN MX 20 backup\n  IN MX 10 mx2\n  IN MX 10 mx1\n";

/// `dig mx example.test` over UDP and TCP against a server with `mx`, captured on the
/// server: the capture file.
fn dig_capture(dir: &Path, name: &str, mx: &str) -> PathBuf {
    let (client, server) = pair("10.0.0.53/24");
    let zone_file = dir.join(format!("{name}.zone"));
    std::fs::write(&zone_file, zone(mx)).unwrap();
    let _dns = Killed(
        server
            .command(env!("CARGO_BIN_EXE_labctl"))
            .args(["serve", "dns", "--listen", "10.0.0.53:53", "--zone"])
            .arg(&zone_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    fn dig<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["@10.0.0.53", "mx", "example.test", "+tries=1", "+time=2"];
        args.extend(extra);
        args
    }
    until_ok(&server, "dig", &dig(&["+tcp"]));
    let pcap = dir.join(format!("{name}.pcap"));
    let capturing = server.tcpdump("eth0", &pcap, "port 53");
    let udp = client.ok("dig", &dig(&[]));
    let tcp = client.ok("dig", &dig(&["+tcp"]));
    for out in [&udp, &tcp] {
        assert!(
            out.contains("MX\t10 mx1.example.test.") && out.contains("MX\t20 backup.example.test."),
            "dig shows the zone's MX records: {out}"
        );
    }
    stop(capturing, &pcap, |a| {
        let answered = a
            .conversations
            .iter()
            .flat_map(|c| c.dns.iter())
            .filter(|d| d.response_frame.is_some())
            .count();
        answered >= 2
    });
    pcap
}

const DNS_COMMANDS: &str = "sudo tcpdump -i eth0 -w dns.pcap port 53 &\ndig @10.0.0.53 mx example.test\n\
     dig +tcp @10.0.0.53 mx example.test\n";

const DNS_ROWS: &[Row] = &[
    row("competing", "mail_host = \"mx1.example.test\"", ""),
    row("competing", "mail_host = \"mx1.example.test.\"", ""),
    row("competing", "mail_host = \"MX1.Example.TEST.\"", ""),
    row("competing", "mail_host = \"  mx1.example.test \"", ""),
    // The case: the backup is in the answer, and listed first, but not where mail goes.
    row(
        "competing",
        "mail_host = \"backup.example.test\"",
        "backup.example.test has preference 20; mail goes to mx1.example.test, preference 10, \
         first",
    ),
    row(
        "competing",
        "mail_host = \"Backup.Example.Test.\"",
        "backup.example.test has preference 20; mail goes to mx1.example.test, preference 10, \
         first",
    ),
    // The handout's example host, which this capture does not hold.
    row(
        "competing",
        "mail_host = \"mail.example.test\"",
        "mail_host = \"mail.example.test\" is not the mail host of the MX answer in your \
         capture (backup.example.test, preference 20; mx1.example.test, preference 10)",
    ),
    // The address of the mail host is not its name.
    row(
        "competing",
        "mail_host = \"192.0.2.25\"",
        "is not the mail host of the MX answer in your capture",
    ),
    row(
        "competing",
        "mail_server = \"mx1.example.test\"",
        "answers.toml has no `mail_host = ...`",
    ),
    // Ties at the lowest preference: every tied host is where mail goes.
    row("tied", "mail_host = \"mx1.example.test\"", ""),
    row("tied", "mail_host = \"mx2.example.test.\"", ""),
    row("tied", "mail_host = \"MX2.EXAMPLE.TEST\"", ""),
    row(
        "tied",
        "mail_host = \"backup.example.test.\"",
        "backup.example.test has preference 20; mail goes to mx2.example.test or \
         mx1.example.test, preference 10, first",
    ),
];

#[test]
fn dns_query_answers_name_the_lowest_preference_mx_host() {
    let dir = scratch("answers-dig");
    let captures = [
        ("competing", dig_capture(&dir, "competing", COMPETING)),
        ("tied", dig_capture(&dir, "tied", TIED)),
    ];
    table(
        "dns-query",
        "mail-host",
        DNS_COMMANDS,
        &captures,
        DNS_ROWS,
        str::to_string,
    );
}

// ---------------------------------------------------------------------------------------
// ftp-by-hand: nc speaking FTP to labctl's FTP server, as the handout's telnet does.

/// A control connection typed by hand: `nc SERVER 21`, a line at a time, each reply read
/// before the next line is typed.
struct Control {
    nc: Killed,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Control {
    fn open(client: &Netns) -> Control {
        let mut child = client
            .command("nc")
            .args(["10.0.0.21", "21"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut c = Control {
            nc: Killed(child),
            stdin,
            lines,
        };
        c.reply("220");
        c
    }

    /// The final line of the next reply, which must have `code`.
    fn reply(&mut self, code: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no {code} reply from the FTP server"));
            let line = line.trim_end().to_string();
            if line.len() > 3 && line.as_bytes()[3] == b'-' {
                continue;
            }
            assert!(line.starts_with(code), "expected {code}, got {line:?}");
            return line;
        }
    }

    fn say(&mut self, command: &str, code: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        self.reply(code)
    }

    fn login(&mut self) {
        self.say("USER anonymous", "331");
        self.say("PASS anonymous", "230");
    }

    /// PASV, and the data port p1*256+p2 of its 227 reply.
    fn pasv(&mut self) -> u16 {
        let reply = self.say("PASV", "227");
        let inner = reply.split_once('(').unwrap().1.split_once(')').unwrap().0;
        let n: Vec<u16> = inner.split(',').map(|x| x.parse().unwrap()).collect();
        n[4] * 256 + n[5]
    }

    /// QUIT, and wait for nc to leave once the server has closed.
    fn quit(mut self) {
        self.say("QUIT", "221");
        drop(self.stdin.take());
        let start = Instant::now();
        while self.nc.0.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(10), "nc did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

const README: &str =
    "Debian mirror of the lab.\nThis file came over the passive data connection.\n";

/// The data ports of the capture the FTP rows are graded with.
struct FtpPorts {
    /// The port of the 227 reply the data connection used.
    data: u16,
    /// An earlier 227 reply of the same control connection, which no data connection used.
    earlier: u16,
    /// A 227 reply of another control connection, which no data connection used.
    other: u16,
}

/// A student's capture with three control connections, as a person trying twice makes it:
/// the first abandoned after its PASV, the second with two PASV replies (the data connection
/// uses the second), the third opened alongside and abandoned after its PASV.
fn ftp_capture(dir: &Path) -> (PathBuf, FtpPorts) {
    let (client, server) = pair("10.0.0.21/24");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("debian")).unwrap();
    std::fs::write(root.join("debian/README"), README).unwrap();
    let _ftp = Killed(
        server
            .command(env!("CARGO_BIN_EXE_labctl"))
            .args([
                "serve",
                "ftp",
                "--listen",
                "10.0.0.21:21",
                "--read-only",
                "--root",
            ])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    until_ok(&client, "nc", &["-z", "10.0.0.21", "21"]);
    let pcap = dir.join("ftp.pcap");
    let capturing = server.tcpdump("eth0", &pcap, "tcp");

    // The server takes the first free passive port, so a port held by one control connection
    // makes the next PASV elsewhere announce another.
    let mut first = Control::open(&client);
    first.login();
    let abandoned = first.pasv();
    let mut second = Control::open(&client);
    second.login();
    second.say("PWD", "257");
    second.say("CWD debian", "250");
    let earlier = second.pasv();
    let mut third = Control::open(&client);
    third.login();
    let other = third.pasv();
    first.quit();
    let data = second.pasv();
    let ports = FtpPorts {
        data,
        earlier,
        other,
    };
    assert!(
        data == abandoned && data != earlier && data != other && earlier != other,
        "the server's passive ports were {abandoned}, {earlier}, {other}, {data}: the capture \
         needs the data port shared with the abandoned connection only"
    );

    let fetched = client
        .command("nc")
        .args(["-d", "10.0.0.21", &data.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The data connection is open (queued on the server's listener) before RETR.
    let start = Instant::now();
    while !client
        .ok(
            "ss",
            &[
                "-Htn",
                "state",
                "established",
                "dst",
                &format!("10.0.0.21:{data}"),
            ],
        )
        .contains("10.0.0.21")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no data connection"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    second.say("RETR README", "150");
    second.reply("226");
    let out = fetched.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), README);
    second.quit();
    third.quit();
    stop(capturing, &pcap, |a| {
        let closed = a
            .conversations
            .iter()
            .filter_map(|c| c.tcp.as_ref())
            .filter(|t| t.close.fin[0] && t.close.fin[1])
            .count();
        closed >= 4
    });
    (pcap, ports)
}

const FTP_COMMANDS: &str = "sudo tcpdump -i eth0 -w ftp.pcap &\ntelnet 10.0.0.21 21\n\
    telnet 10.0.0.21 21\ntelnet 10.0.0.21 {data} > README\ntelnet 10.0.0.21 21\n";

const FTP_ROWS: &[Row] = &[
    row("ftp", "pasv_port = {data}", ""),
    row("ftp", "pasv_port = \"{data}\"", ""),
    row("ftp", "pasv_port = \" {data} \"", ""),
    // Any 227 reply of the control connection the data connection used.
    row("ftp", "pasv_port = {earlier}", ""),
    row("ftp", "pasv_port = \"{earlier}\"", ""),
    // A 227 reply of another control connection, which no data connection used.
    row(
        "ftp",
        "pasv_port = {other}",
        "pasv_port = {other} comes from the 227 reply {other_reply} (port {other}) of a \
         control connection your data connection did not use",
    ),
    // A port no 227 reply of the capture announced.
    row(
        "ftp",
        "pasv_port = {not_announced}",
        "pasv_port = {not_announced} is not the data port of the 227 reply in your capture: \
         {data_reply} gives p1*256+p2 = {data}",
    ),
    // p1 alone, p2 alone, the reply's numbers.
    row(
        "ftp",
        "pasv_port = {p1}",
        "is not the data port of the 227 reply",
    ),
    row(
        "ftp",
        "pasv_port = {p2}",
        "is not the data port of the 227 reply",
    ),
    row(
        "ftp",
        "pasv_port = \"{data_reply}\"",
        "is not the data port of the 227 reply",
    ),
    // Hexadecimal, as a string and as a TOML literal: the rubric asks for decimal.
    row(
        "ftp",
        "pasv_port = \"{data_hex}\"",
        "pasv_port = {data_hex}: write the port in decimal",
    ),
    row(
        "ftp",
        "pasv_port = {data_hex}",
        "pasv_port = {data_hex}: write the port in decimal",
    ),
    row(
        "ftp",
        "pasv_port = {data}.0",
        "is not the data port of the 227 reply",
    ),
];

/// `(10,0,0,21,p1,p2)` of a port.
fn reply_of(port: u16) -> String {
    format!("(10,0,0,21,{},{})", port / 256, port % 256)
}

fn fill_ftp(ports: &FtpPorts, text: &str) -> String {
    let not_announced = (40000..)
        .find(|p| ![ports.data, ports.earlier, ports.other].contains(p))
        .unwrap();
    text.replace("{data_reply}", &reply_of(ports.data))
        .replace("{other_reply}", &reply_of(ports.other))
        .replace("{data_hex}", &format!("0x{:x}", ports.data))
        .replace("{data}", &ports.data.to_string())
        .replace("{earlier}", &ports.earlier.to_string())
        .replace("{other}", &ports.other.to_string())
        .replace("{not_announced}", &not_announced.to_string())
        .replace("{p1}", &(ports.data / 256).to_string())
        .replace("{p2}", &(ports.data % 256).to_string())
}

#[test]
fn ftp_answers_are_any_227_of_the_control_connection_the_data_used() {
    require("ss", "iproute2");
    let dir = scratch("answers-ftp");
    let (pcap, ports) = ftp_capture(&dir);
    let fill = |t: &str| fill_ftp(&ports, t);
    table(
        "ftp-by-hand",
        "pasv-port",
        &fill(FTP_COMMANDS),
        &[("ftp", pcap)],
        FTP_ROWS,
        fill,
    );
}

// ---------------------------------------------------------------------------------------
// Rubrics that say what they accept: a copy of a lab in a scratch `./labs`, which `labctl
// grade` run from there finds before the built-in one.

/// `cwd/labs/LAB`: the lab's rubric, handout and reference, the rubric edited (each `from`
/// must be there).
fn lab_copy(cwd: &Path, lab: &str, edits: &[(&str, &str)]) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs").join(lab);
    let to = cwd.join("labs").join(lab);
    std::fs::create_dir_all(to.join("reference")).unwrap();
    for name in ["rubric.toml", "README.md"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
    copy_files(&from.join("reference"), &to.join("reference"));
    let mut rubric = std::fs::read_to_string(to.join("rubric.toml")).unwrap();
    for (old, new) in edits {
        assert!(rubric.contains(old), "{lab}'s rubric has no {old:?}");
        rubric = rubric.replacen(old, new, 1);
    }
    std::fs::write(to.join("rubric.toml"), rubric).unwrap();
}

fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// `labctl grade LAB ARGS --json` run from `cwd`, asserting exit 0 (full marks) or 1.
fn grade_from(cwd: &Path, lab: &str, args: &[&Path]) -> serde_json::Value {
    graded(
        labctl()
            .current_dir(cwd)
            .args(["grade", lab, "--json"])
            .args(args),
    )
}

/// The lab's reference submission with `file` replaced by `text`.
fn reference_with(dir: &Path, lab: &str, file: &str, text: &str) -> PathBuf {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("labs")
        .join(lab)
        .join("reference");
    copy_files(&reference, dir);
    std::fs::write(dir.join(file), text).unwrap();
    dir.to_path_buf()
}

/// The homework's commands.sh with these rule lines instead of the reference rule.
fn homework_rules(rules: &str) -> String {
    let reference =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/homework-redirect/reference/commands.sh");
    let text = std::fs::read_to_string(reference).unwrap();
    let rule = text
        .lines()
        .find(|l| l.contains("-j REDIRECT"))
        .unwrap()
        .to_string();
    text.replace(&rule, rules)
}

#[test]
fn a_rule_check_with_accept_exact_wants_the_rule_as_written() {
    let cwd = scratch("accept-exact");
    let lab = "homework-redirect";
    lab_copy(
        &cwd,
        lab,
        &[
            (
                "kind = \"rule-chain\"\n",
                "kind = \"rule-chain\"\naccept = \"exact\"\n",
            ),
            (
                "kind = \"rule-match\"\n",
                "kind = \"rule-match\"\naccept = \"exact\"\n",
            ),
        ],
    );
    assert_eq!(
        grade_from(&cwd, lab, &[Path::new("--reference")])["score"],
        13
    );
    // (rules, what the exact copy loses and says; the built-in lab gives full marks).
    let cases = [
        (
            "sudo iptables -t nat -A PREROUTING -p tcp --dport 20:21 -j REDIRECT --to-ports 27664",
            "rule-match",
            "your rule (line 7) works for the lab's connection (it also catches port 20), but \
             this check asks for the rule exactly as the lab gives it",
        ),
        (
            "sudo iptables -t nat -A PREROUTING -p tcp -m multiport --dports 21,587 -j REDIRECT --to-ports 27664",
            "rule-match",
            "your rule (line 7) works for the lab's connection (it also catches port 587), but \
             this check asks for the rule exactly as the lab gives it",
        ),
        (
            "sudo iptables -t nat -N HOMEWORK\nsudo iptables -t nat -A PREROUTING -j HOMEWORK\n\
             sudo iptables -t nat -A HOMEWORK -p tcp --dport 21 -j REDIRECT --to-ports 27664",
            "rule-chain",
            "your rule (line 9) works for the lab's connection (it is in nat HOMEWORK, reached \
             through PREROUTING > HOMEWORK), but this check asks for the rule exactly as the \
             lab gives it",
        ),
    ];
    for (i, (rules, name, says)) in cases.iter().enumerate() {
        let dir = cwd.join(format!("sub{i}"));
        let sub = reference_with(&dir, lab, "commands.sh", &homework_rules(rules));
        let g = grade(lab, &sub);
        assert_eq!(g["score"], 13, "equivalent by default: {rules}: {g:#}");
        let g = grade_from(&cwd, lab, &[&sub]);
        assert_eq!(lost(&g), [*name], "{rules}: {g:#}");
        assert_eq!(check(&g, name).1, *says);
    }
    // The literal form still names a real mistake as before.
    let sub = reference_with(
        &cwd.join("wrong"),
        lab,
        "commands.sh",
        &homework_rules(
            "sudo iptables -t nat -A PREROUTING -p tcp --dport 2121 -j REDIRECT --to-ports 27664",
        ),
    );
    let g = grade_from(&cwd, lab, &[&sub]);
    assert!(lost(&g).contains(&"rule-match".to_string()), "{g:#}");
    assert!(
        check(&g, "rule-match")
            .1
            .starts_with("your rule matches port 2121, but the client connects to port 21"),
        "{g:#}"
    );
}

/// A lab copy with an answer check edited, and answers graded against its reference capture.
struct Stated {
    lab: &'static str,
    check: &'static str,
    edit: (&'static str, &'static str),
    /// (answers.toml, what the check's feedback says when it loses; empty for full marks).
    rows: &'static [(&'static str, &'static str)],
}

const STATED: &[Stated] = &[
    Stated {
        lab: "ftp-by-hand",
        check: "pasv-port",
        edit: (
            "fact = \"pasv-port\"\n",
            "fact = \"pasv-port\"\naccept = [40000, 40001]\nbases = [10, 16]\n",
        ),
        rows: &[
            ("pasv_port = 40000", ""),
            // Not in the reference capture, but the rubric's list replaces the capture's fact.
            ("pasv_port = 40001", ""),
            ("pasv_port = \"0x9C41\"", ""),
            ("pasv_port = 0x9c40", ""),
            (
                "pasv_port = 40002",
                "pasv_port = 40002 is not an accepted answer",
            ),
            (
                "pasv_port = 0b1001110001000000",
                "pasv_port = 0b1001110001000000 is not an accepted answer",
            ),
        ],
    },
    Stated {
        lab: "ftp-by-hand",
        check: "pasv-port",
        edit: (
            "fact = \"pasv-port\"\n",
            "fact = \"pasv-port\"\nbases = [10, 16]\n",
        ),
        rows: &[
            ("pasv_port = \"0x9c40\"", ""),
            ("pasv_port = 0x9C40", ""),
            (
                "pasv_port = \"0x9c41\"",
                "pasv_port = 0x9c41 is not the data port of the 227 reply in your capture: \
                 (10,0,0,21,156,64) gives p1*256+p2 = 40000",
            ),
            (
                "pasv_port = 0o116100",
                "pasv_port = 0o116100: write the port in decimal",
            ),
        ],
    },
    Stated {
        lab: "dns-query",
        check: "mail-host",
        edit: (
            "fact = \"mx-host\"\n",
            "fact = \"mx-host\"\naccept = [\"mx1.example.test\", \"mail.example.test.\"]\n",
        ),
        rows: &[
            ("mail_host = \"Mail.Example.Test\"", ""),
            ("mail_host = \"MX1.EXAMPLE.TEST.\"", ""),
            (
                "mail_host = \"backup.example.test\"",
                "mail_host = backup.example.test is not an accepted answer",
            ),
        ],
    },
];

#[test]
fn answer_checks_accept_what_the_rubric_lists_in_the_bases_it_allows() {
    for (n, s) in STATED.iter().enumerate() {
        let cwd = scratch(&format!("accept-list-{n}"));
        lab_copy(&cwd, s.lab, &[s.edit]);
        let g = grade_from(&cwd, s.lab, &[Path::new("--reference")]);
        assert_eq!(g["score"], g["max"], "{}: {g:#}", s.edit.1);
        for (i, (answers, says)) in s.rows.iter().enumerate() {
            let dir = reference_with(&cwd.join(format!("sub{i}")), s.lab, "answers.toml", answers);
            let g = grade_from(&cwd, s.lab, &[&dir]);
            if says.is_empty() {
                assert_eq!(g["score"], g["max"], "{answers} with {}: {g:#}", s.edit.1);
            } else {
                assert_eq!(lost(&g), [s.check], "{answers}: {g:#}");
                assert_eq!(check(&g, s.check).1, *says, "{answers} with {}", s.edit.1);
            }
        }
    }
}

#[test]
fn a_rubric_with_a_base_it_cannot_have_is_refused() {
    let cwd = scratch("accept-bad-base");
    lab_copy(
        &cwd,
        "ftp-by-hand",
        &[(
            "fact = \"pasv-port\"\n",
            "fact = \"pasv-port\"\nbases = [10, 3]\n",
        )],
    );
    let out = labctl()
        .current_dir(&cwd)
        .args(["grade", "ftp-by-hand", "--reference"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("base 3 is not one of 2, 8, 10, 16"), "{err}");
}
