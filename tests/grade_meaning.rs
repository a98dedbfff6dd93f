//! Rules and answers judged by what they mean. A corpus per lab, as students could hand it
//! in: equivalent forms of the reference rule, each graded through `labctl grade` (so the lab
//! really runs with it and real iptables decides), must get every rule and lab point; wrong
//! ones must lose exactly the right checks, with feedback that names the mistake. Answers:
//! competing MX records, several PASV replies, trailing dots, case, bases.

mod kit;

use std::path::{Path, PathBuf};

use kit::{labctl, scratch};

/// A redirect lab: its port, the server's port and addresses.
struct Lab {
    name: &'static str,
    port: &'static str,
    to: &'static str,
    server: &'static str,
    /// The lines of commands.sh before the rules.
    prelude: &'static str,
    /// The checks of the lab run.
    lab_checks: &'static [&'static str],
}

const HOMEWORK: Lab = Lab {
    name: "homework-redirect",
    port: "21",
    to: "27664",
    server: "10.0.0.2",
    prelude: "nc -l -k -p 27664 > dump.txt &\n",
    lab_checks: &["redirect-works", "answered-from-21"],
};

const FILTER: Lab = Lab {
    name: "filter-redirect",
    port: "25",
    to: "25025",
    server: "10.0.0.25",
    prelude: "",
    lab_checks: &["banner-through-25"],
};

/// Rule lines with {P} the lab's port, {T} the server's port, {S} the server's address.
const EQUIVALENT: &[&str] = &[
    "-t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -i eth0 -p tcp -m tcp --dport {P} -j REDIRECT --to-port {T}",
    "--table nat --append PREROUTING --protocol tcp --destination-port {P} --jump REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport {P}:{P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport 20:30 -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp -m multiport --dports {P},587 -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp -m multiport --dports 1:100,8080 -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp ! --dport 22 -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -i eth+ -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -i enp0s3 -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -d {S} -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -d 10.0.0.0/24 -s 10.0.0.1 -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING ! -s 192.0.2.0/24 -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport {P} -j DNAT --to-destination {S}:{T}",
    "-t nat -A PREROUTING -p tcp --syn --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport {P} -m state --state NEW -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport {P} -m conntrack --ctstate NEW -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p udp --dport {P} -j ACCEPT\n\
     iptables -t nat -I PREROUTING 1 -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport 80 -j ACCEPT\n\
     iptables -t nat -A PREROUTING -p tcp --dport {P} -j LOG --log-prefix redirect\n\
     iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -N HOMEWORK\n\
     iptables -t nat -A PREROUTING -j HOMEWORK\n\
     iptables -t nat -A HOMEWORK -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -N HOMEWORK\n\
     iptables -t nat -A PREROUTING -p tcp -j HOMEWORK\n\
     iptables -t nat -A HOMEWORK -p tcp ! --dport {P} -j RETURN\n\
     iptables -t nat -A HOMEWORK -p tcp -j REDIRECT --to-ports {T}",
    "-P INPUT DROP\n\
     iptables -A INPUT -p tcp --dport {T} -j ACCEPT\n\
     iptables -A INPUT -p tcp --dport {P} -j ACCEPT\n\
     iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
    "-t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports 9\n\
     iptables -t nat -D PREROUTING 1\n\
     iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
];

/// A wrong rule set, the rule and lab checks it loses, and what their feedback says.
struct Wrong {
    rules: &'static str,
    lost: &'static [&'static str],
    says: &'static str,
}

const LAB: &[&str] = &["LAB"];

const fn w(rules: &'static str, lost: &'static [&'static str], says: &'static str) -> Wrong {
    Wrong { rules, lost, says }
}

const WRONG: &[Wrong] = &[
    w(
        "-t nat -A PREROUTING -p tcp --dport 2121 -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches port 2121, but the client connects to port {P}",
    ),
    w(
        "-t nat -A PREROUTING -p tcp --dport 26:80 -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches port 26:80, but the client connects to port {P}",
    ),
    w(
        "-t nat -A PREROUTING -p tcp -m multiport --dports 110,587 -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches port 110,587",
    ),
    w(
        "-t nat -A PREROUTING -p tcp ! --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches port ! {P}",
    ),
    w(
        "-t nat -A PREROUTING -p udp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches protocol udp, but the client uses tcp",
    ),
    w(
        "-t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports 2766",
        &["rule-match"],
        "your rule sends the connections to port 2766, but the server listens on {T}",
    ),
    w(
        "-t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT",
        &["rule-match"],
        "add --to-ports {T}",
    ),
    w(
        "-t nat -A PREROUTING -p tcp --dport {P} -j DNAT --to-destination 10.0.0.1:{T}",
        &["rule-match"],
        "your rule sends the connections to 10.0.0.1:{T}",
    ),
    w(
        "-t nat -A PREROUTING -i lo -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "arriving on lo, but the client's connections arrive on eth0",
    ),
    w(
        "-t nat -A PREROUTING -s 10.0.0.99 -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches source 10.0.0.99/32, but the client's connections come from 10.0.0.1",
    ),
    w(
        "-t nat -A PREROUTING -d 10.0.0.1 -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "your rule matches destination 10.0.0.1/32",
    ),
    w(
        "-t nat -A PREROUTING -p tcp --dport {P} -m state --state ESTABLISHED -j REDIRECT --to-ports {T}",
        &["rule-match"],
        "leaves out the client's first packet, which is NEW",
    ),
    w(
        "-t nat -A OUTPUT -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-chain"],
        "your rule is in nat OUTPUT: it only redirects connections made on the server itself",
    ),
    w(
        "-t nat -A INPUT -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-chain"],
        "REDIRECT works only in PREROUTING and OUTPUT",
    ),
    w(
        "-t nat -A POSTROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-chain"],
        "REDIRECT works only in PREROUTING and OUTPUT",
    ),
    w(
        "-A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-table"],
        "has no `-t nat`",
    ),
    w(
        "-t mangle -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-table"],
        "is in the mangle table; REDIRECT exists only in the nat table",
    ),
    w(
        "-t nat -N HOMEWORK\n iptables -t nat -A HOMEWORK -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-chain"],
        "no rule of nat PREROUTING jumps to HOMEWORK",
    ),
    w(
        "-t nat -N HOMEWORK\n iptables -t nat -A PREROUTING -p tcp --dport 80 -j HOMEWORK\n iptables -t nat -A HOMEWORK -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &["rule-chain"],
        "never reaches nat HOMEWORK: the jump on line {2} does not match it (your rule matches port 80",
    ),
    w(
        "-t nat -N HOMEWORK\n iptables -t nat -A PREROUTING -j HOMEWORK\n iptables -t nat -I HOMEWORK -j RETURN\n iptables -t nat -A HOMEWORK -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &[],
        "line {3} (\"iptables -t nat -I HOMEWORK -j RETURN\") (RETURN)",
    ),
    w(
        "-A INPUT -p tcp --dport {T} -j DROP\n iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &[],
        "line {1} (\"sudo iptables -A INPUT -p tcp --dport {T} -j DROP\") drops the client's first packet in filter INPUT",
    ),
    w(
        "-I INPUT -p tcp -j REJECT --reject-with tcp-reset\n iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &[],
        "rejects the client's first packet in filter INPUT",
    ),
    w(
        "-P INPUT DROP\n iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &[],
        "the DROP policy of filter INPUT drops the client's first packet",
    ),
    w(
        "-A OUTPUT -p tcp --sport {T} -j DROP\n iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &[],
        "drops the server's replies in filter OUTPUT",
    ),
    w(
        "-t nat -A PREROUTING -p tcp -j ACCEPT\n iptables -t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}",
        &[],
        "decides the connection in nat PREROUTING before your rule on line {2} is reached",
    ),
    w(
        "-t nat -A PREROUTING -p tcp --dport {P} -j REDIRECT --to-ports {T}\n iptables -t nat -F PREROUTING",
        &[],
        "blocks the connection or undoes your rule",
    ),
];

/// {P} port, {T} server port, {S} server address, {1}..{4} the line of the n-th rule line.
fn fill(lab: &Lab, text: &str) -> String {
    let before = lab.prelude.lines().count();
    let mut text = text.to_string();
    for n in 1..=4 {
        text = text.replace(&format!("{{{n}}}"), &(before + n).to_string());
    }
    text.replace("{P}", lab.port)
        .replace("{T}", lab.to)
        .replace("{S}", lab.server)
}

/// One submission per rule set: the lab's reference with commands.sh replaced.
fn submissions(lab: &Lab, kind: &str, sets: &[&str]) -> Vec<PathBuf> {
    let root = scratch(&format!("meaning-{}-{kind}", lab.name));
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("labs")
        .join(lab.name)
        .join("reference");
    sets.iter()
        .enumerate()
        .map(|(i, rules)| {
            let dir = root.join(format!("{i:02}"));
            std::fs::create_dir_all(&dir).unwrap();
            for e in std::fs::read_dir(&reference).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
            }
            let script = format!("{}sudo iptables {}\n", lab.prelude, fill(lab, rules));
            std::fs::write(dir.join("commands.sh"), script).unwrap();
            dir
        })
        .collect()
}

/// Grades the directories in one batch (`--jobs`) and returns the grades in order.
fn batch(lab: &Lab, dirs: &[PathBuf]) -> Vec<serde_json::Value> {
    let out = labctl()
        .args(["grade", lab.name, "--json", "--jobs", "4"])
        .args(dirs)
        .output()
        .unwrap();
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON from the batch ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), dirs.len());
    dirs.iter()
        .map(|d| {
            all.iter()
                .find(|g| g["submission"].as_str() == Some(&d.display().to_string()))
                .unwrap_or_else(|| panic!("no grade for {}", d.display()))
                .clone()
        })
        .collect()
}

/// The rule checks a grade lost, and `LAB` once if any lab check was lost (capture checks
/// depend on the capture handed in, not on the rules).
fn lost_rule_checks(lab: &Lab, g: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in g["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("not a grade: {g:#}"))
    {
        let name = c["name"].as_str().unwrap();
        if c["passed"] == true {
            continue;
        }
        let n = if lab.lab_checks.contains(&name) {
            "LAB"
        } else {
            name
        };
        if (n == "LAB" || n.starts_with("rule-")) && !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out.sort_by_key(|n| n != "LAB");
    out
}

fn corpus(lab: &Lab) {
    let good = submissions(lab, "good", EQUIVALENT);
    for (g, rules) in batch(lab, &good).iter().zip(EQUIVALENT) {
        assert_eq!(
            lost_rule_checks(lab, g),
            Vec::<String>::new(),
            "{rules}: {g:#}"
        );
    }
    let sets: Vec<&str> = WRONG.iter().map(|w| w.rules).collect();
    let bad = submissions(lab, "bad", &sets);
    for (g, wrong) in batch(lab, &bad).iter().zip(WRONG) {
        let mut want: Vec<&str> = LAB.to_vec();
        want.extend(wrong.lost);
        assert_eq!(lost_rule_checks(lab, g), want, "{}: {g:#}", wrong.rules);
        let says = fill(lab, wrong.says);
        let feedback: Vec<&str> = g["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .filter_map(|c| c["feedback"].as_str())
            .collect();
        // The rule check at fault says it, and so does the lab check it explains.
        for name in wrong.lost.iter().chain(["LAB"].iter()) {
            let of =
                g["checks"].as_array().unwrap().iter().find(|c| {
                    c["name"] == *name || (*name == "LAB" && c["name"] == lab.lab_checks[0])
                });
            let text = of.and_then(|c| c["feedback"].as_str()).unwrap_or("");
            assert!(
                text.contains(&says),
                "{}: {name} says {text:?}, not {says:?}\n{feedback:#?}",
                wrong.rules
            );
        }
    }
}

#[test]
fn homework_redirect_rules_are_judged_by_what_they_do() {
    corpus(&HOMEWORK);
}

#[test]
fn filter_redirect_rules_are_judged_by_what_they_do() {
    corpus(&FILTER);
}
