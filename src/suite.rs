//! `labctl test`: every scenario (or the named ones) run as parallel child processes, each in
//! its own sandbox, their flows compared with the expected snapshots, one verdict for CI.
//!
//! Contract: [`main`] validates every named scenario before any lab starts (an unknown name or a
//! bad file is exit 2 with nothing run); then runs each as `labctl run NAME --json --out DIR`
//! through [`crate::jobs::run_all`], prints one line per scenario with the failed checks and a
//! unified diff of the flows on a snapshot mismatch, and returns [`Verdict::Passed`] when every
//! scenario passed, [`Verdict::Failed`] when one failed, [`Verdict::NotRun`] when one could not
//! run. `--html DIR` writes an index page linking each run's HTML report. `--bless` writes the
//! run's flows as the expected
//! snapshot: beside the scenario file for `./scenarios/` and path scenarios, and into
//! `./scenarios/snapshots/` for built-in ones.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::analyze::{self, alerts::Party, alerts::Severity};
use crate::catalogue::Thresholds;
use crate::check::snapshot;
use crate::jobs::{self, Finished, Job, Progress};
use crate::report::{Report, html};
use crate::scenario::{self, Action, AlertExpect, AlertSide, BUILTIN, Expect, Origin, StepOutcome};
use crate::text::markup;
use crate::verdict::{Error, Verdict};

/// `labctl test`'s command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TestArgs {
    /// Scenario names or paths; every scenario in ./scenarios/ and built in when none
    pub scenarios: Vec<String>,
    /// Also write a JUnit XML report to FILE
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
    /// Record each run's flows as the expected snapshot
    #[arg(long)]
    pub bless: bool,
    /// Labs run at once (default: the number of CPUs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Directory for the runs' artifacts (one subdirectory per scenario)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write an HTML report into DIR: index.html linking one page per scenario
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

/// One scenario to test, validated.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    origin: Origin,
    /// What the child is given: a path, or a built-in name.
    arg: String,
    /// The timers the lab waits for (pauses, connections expected to time out): the suite
    /// starts the longest labs first so they overlap.
    waits: Duration,
    /// Lab host names, for the alerts of a lab that expects none.
    names: analyze::Names,
    /// The scenario's alert thresholds and the alerts it expects (exempt from the no-alert
    /// check), each side resolved to its addresses.
    alerts: Thresholds,
    expected: Vec<Exempt>,
}

/// An alert a scenario expects, as the no-alert check exempts it: the id, and each side's
/// addresses (`None`: anyone). A host side also exempts MAC-address sides, which only the
/// run knows; the run's own check of the expectation is the exact one.
#[derive(Debug, Clone)]
struct Exempt {
    id: &'static str,
    sides: [Option<Vec<std::net::IpAddr>>; 2],
}

impl Exempt {
    /// The alerts `plan` expects.
    fn all(plan: &scenario::Plan) -> Vec<Exempt> {
        plan.expects
            .iter()
            .filter_map(|e| match e {
                Expect::Alert { what, .. } => Some(Exempt::new(plan, what)),
                _ => None,
            })
            .collect()
    }

    fn new(plan: &scenario::Plan, what: &AlertExpect) -> Exempt {
        let side = |s: &AlertSide| match s {
            AlertSide::Any => None,
            AlertSide::Ip(ip) => Some(vec![*ip]),
            AlertSide::Mac(_) => Some(Vec::new()),
            AlertSide::Host(h) => Some(
                plan.addresses()
                    .filter(|(_, name)| *name == plan.hosts[*h].name)
                    .map(|(ip, _)| ip)
                    .collect(),
            ),
        };
        Exempt {
            id: what.id,
            sides: [side(&what.src), side(&what.dst)],
        }
    }

    fn covers(&self, alert: &analyze::alerts::Alert) -> bool {
        let side = |allowed: &Option<Vec<std::net::IpAddr>>, party: &Party| match (allowed, party) {
            (None, _) => true,
            (Some(ips), Party::Ip(ip)) => ips.contains(ip),
            (Some(_), Party::Mac(_)) => true,
            (Some(_), Party::Many) => false,
        };
        self.id == alert.id && side(&self.sides[0], &alert.src) && side(&self.sides[1], &alert.dst)
    }
}

/// The verdict on one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioOutcome {
    pub scenario: String,
    pub origin: String,
    /// `passed`, `failed` or `error` (the run could not happen).
    pub status: &'static str,
    /// Failed checks, one line each.
    pub failures: Vec<String>,
    /// Unified diff of the flows, expected (-) against this run (+), when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Where `--bless` wrote the snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blessed: Option<PathBuf>,
    /// Why the run could not happen.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(serialize_with = "crate::text::millis")]
    pub took: Duration,
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    passed: usize,
    failed: usize,
    errors: usize,
    #[serde(serialize_with = "crate::text::millis")]
    took: Duration,
    scenarios: &'a [ScenarioOutcome],
}

/// Runs `labctl test`. See the module documentation.
pub fn main(args: &TestArgs) -> Result<Verdict, Error> {
    let started = Instant::now();
    let entries = select(&args.scenarios).map_err(Error::msg)?;
    if entries.is_empty() {
        return Err(Error::msg(
            "no scenarios to test (none in ./scenarios/ and none built in)",
        ));
    }
    // A host that refuses the sandbox is named once, not once per scenario.
    crate::sandbox::probe().map_err(crate::sandbox::SandboxError::Refused)?;
    let root = args.out.clone().unwrap_or_else(default_root);
    // Longest waits first; results come back in the order given, then are put back in order.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(entries[*i].waits));
    let jobs_list: Vec<Job> = order
        .iter()
        .map(|i| &entries[*i])
        .map(|e| Job {
            label: e.name.clone(),
            args: vec![
                OsString::from("run"),
                OsString::from(&e.arg),
                OsString::from("--json"),
                OsString::from("--out"),
                root.join(&e.name).into_os_string(),
            ],
        })
        .collect();
    let parallel = args.jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let progress = Progress::new("test");
    let mut finished: Vec<(usize, Finished)> = order
        .into_iter()
        .zip(jobs::run_all(jobs_list, parallel, &|f, done, total| {
            progress.update(f, done, total)
        }))
        .collect();
    finished.sort_by_key(|(i, _)| *i);
    let finished = finished.into_iter().map(|(_, f)| f);
    let outcomes: Vec<ScenarioOutcome> = entries
        .iter()
        .zip(finished)
        .map(|(entry, f)| judge(entry, f, &root.join(&entry.name), args.bless))
        .collect();
    let took = started.elapsed();
    let color = std::io::stdout().is_terminal() && !args.json;
    if args.json {
        let summary = summarize(&outcomes, took);
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("a summary serialises")
        );
    } else {
        print!("{}", text(&outcomes, took, color));
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&outcomes, took))
            .map_err(|e| Error::msg(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(dir) = &args.html {
        write_html(dir, &outcomes, took)?;
    }
    Ok(if outcomes.iter().any(|o| o.status == "error") {
        Verdict::NotRun
    } else if outcomes.iter().any(|o| o.status == "failed") {
        Verdict::Failed
    } else {
        Verdict::Passed
    })
}

/// `--html DIR`: each run's own `report.html` copied as `DIR/NAME.html`, and an index linking
/// them. A run that made no page (it could not happen) is listed without a link.
fn write_html(dir: &Path, outcomes: &[ScenarioOutcome], took: Duration) -> Result<(), Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::msg(format!("cannot create {}: {e}", dir.display())))?;
    let mut rows = Vec::new();
    for o in outcomes {
        let name = format!("{}.html", o.scenario);
        let page = std::fs::copy(o.out.join("report.html"), dir.join(&name))
            .ok()
            .map(|_| name);
        let mut failures = o.failures.clone();
        if !o.error.is_empty() {
            failures.push(o.error.clone());
        }
        rows.push(html::IndexRow {
            scenario: o.scenario.clone(),
            status: o.status.to_string(),
            failures,
            page,
            took: o.took,
        });
    }
    html::write_page(&dir.join("index.html"), &html::index_page(&rows, took))
}

fn default_root() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("labctl-runs").join(format!("test-{secs}-{}", std::process::id()))
}

/// The scenarios to run, each validated: the named ones, or every scenario in `./scenarios/`
/// and then every built-in one not shadowed by a local file of the same name.
fn select(names: &[String]) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    if names.is_empty() {
        let mut local: Vec<PathBuf> = std::fs::read_dir("scenarios")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        local.sort();
        for path in local {
            entries.push(validate(&path.to_string_lossy())?);
        }
        for b in BUILTIN {
            if !entries.iter().any(|e: &Entry| e.name == b.name) {
                entries.push(validate(b.name)?);
            }
        }
    } else {
        for name in names {
            let entry = validate(name)?;
            if !entries.iter().any(|e: &Entry| e.name == entry.name) {
                entries.push(entry);
            }
        }
    }
    Ok(entries)
}

fn validate(name_or_path: &str) -> Result<Entry, String> {
    let plan = scenario::load(name_or_path).map_err(|e| e.to_string())?;
    let arg = match &plan.origin {
        Origin::File(path) => path.to_string_lossy().into_owned(),
        Origin::Builtin(name) => name.to_string(),
    };
    let waits = plan
        .steps
        .iter()
        .map(|s| match &s.action {
            Action::Wait(d) => *d,
            Action::Telnet { timeout, .. } if s.expect == StepOutcome::TimedOut => *timeout,
            _ => Duration::ZERO,
        })
        .sum();
    let mut names = analyze::Names::new();
    for (addr, host) in plan.addresses() {
        names.insert(addr, host);
    }
    let expected = Exempt::all(&plan);
    Ok(Entry {
        name: plan.name.clone(),
        origin: plan.origin.clone(),
        arg,
        waits,
        names,
        alerts: plan.alerts.clone(),
        expected,
    })
}

/// Where the expected snapshot of `entry` lives, and where `--bless` writes it.
fn snapshot_path(entry: &Entry) -> PathBuf {
    entry.origin.snapshot_path(&entry.name).unwrap_or_else(|| {
        Path::new("scenarios")
            .join("snapshots")
            .join(format!("{}.snap", entry.name))
    })
}

fn judge(entry: &Entry, f: Finished, out: &Path, bless: bool) -> ScenarioOutcome {
    let mut outcome = ScenarioOutcome {
        scenario: entry.name.clone(),
        origin: entry.origin.to_string(),
        status: "passed",
        failures: Vec::new(),
        diff: None,
        blessed: None,
        error: String::new(),
        took: f.took,
        out: out.to_path_buf(),
    };
    let report: Option<Report> = serde_json::from_slice(&f.stdout).ok();
    let (Some(code @ (0 | 1)), Some(report)) = (f.code, report) else {
        outcome.status = "error";
        let stderr = String::from_utf8_lossy(&f.stderr).trim().to_string();
        outcome.error = if stderr.is_empty() {
            format!("labctl run exited with {:?} and no report", f.code)
        } else {
            stderr
        };
        return outcome;
    };
    // `snapshot = false` in the scenario: nothing to compare, nothing to bless. Otherwise a
    // missing snapshot fails the suite: a lab nobody compares could change unseen.
    if !matches!(
        report.snapshot,
        snapshot::Comparison::Matches | snapshot::Comparison::Off
    ) {
        if bless {
            let path = snapshot_path(entry);
            let text = report.snapshot_text.as_deref().unwrap_or(&report.flows);
            match snapshot::write(&path, text) {
                Ok(()) => outcome.blessed = Some(path),
                Err(e) => {
                    outcome.status = "error";
                    outcome.error = format!("cannot write {}: {e}", path.display());
                    return outcome;
                }
            }
        } else if let snapshot::Comparison::Differs { diff } = &report.snapshot {
            outcome.diff = Some(diff.clone());
        } else {
            outcome.failures.push(format!(
                "no expected snapshot ({}): `labctl test --bless {}` records this run's flows",
                snapshot_path(entry).display(),
                entry.name
            ));
        }
    }
    for check in report.expectation_checks() {
        if !check.passed {
            outcome
                .failures
                .push(format!("{}: {}", check.name, check.detail));
        }
    }
    outcome.failures.extend(unexpected_alerts(entry, &report));
    let failed = !outcome.failures.is_empty() || outcome.diff.is_some();
    if failed || (code == 1 && !bless) {
        outcome.status = "failed";
        if outcome.failures.is_empty() && outcome.diff.is_none() {
            outcome.failures.push("the run failed".into());
        }
    }
    outcome
}

fn summarize(outcomes: &[ScenarioOutcome], took: Duration) -> Summary<'_> {
    let count = |s: &str| outcomes.iter().filter(|o| o.status == s).count();
    Summary {
        passed: count("passed"),
        failed: count("failed"),
        errors: count("error"),
        took,
        scenarios: outcomes,
    }
}

fn text(outcomes: &[ScenarioOutcome], took: Duration, color: bool) -> String {
    let ink = crate::text::Ink { color };
    let width = outcomes.iter().map(|o| o.scenario.len()).max().unwrap_or(0);
    let mut out = String::new();
    for o in outcomes {
        let mark = match o.status {
            "passed" => ink.paint("32", "ok   "),
            "failed" => ink.paint("31;1", "FAIL "),
            _ => ink.paint("31;1", "ERROR"),
        };
        let _ = writeln!(
            out,
            "{mark} {:<width$}  {:>8}  {}",
            o.scenario,
            crate::text::human_duration(o.took),
            o.out.display()
        );
        for f in &o.failures {
            let _ = writeln!(out, "        {f}");
        }
        if !o.error.is_empty() {
            for line in o.error.lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
        if let Some(diff) = &o.diff {
            let _ = writeln!(
                out,
                "        flows differ from the expected snapshot (- expected, + this run):"
            );
            for line in diff.lines() {
                let _ = writeln!(out, "        {}", ink.diff_line(line));
            }
        }
        if let Some(path) = &o.blessed {
            let _ = writeln!(
                out,
                "        wrote the expected snapshot {}",
                path.display()
            );
        }
    }
    let s = summarize(outcomes, took);
    let verdict = ink.verdict(s.failed + s.errors == 0, "PASSED", "FAILED");
    let _ = writeln!(
        out,
        "{verdict}: {} passed, {} failed, {} could not run, in {}",
        s.passed,
        s.failed,
        s.errors,
        crate::text::human_duration(took)
    );
    out
}

/// A lab gets no alert at `low` or above that it does not expect: each capture of the child's
/// run is read again here, with the scenario's thresholds (the run detects only for labs with
/// alert expectations, and its report has no place for alerts). An alert is expected when an
/// `[[expect]] alert` has its id and sides ([`Exempt`]); an attack lab raising anything else
/// fails like any other lab.
fn unexpected_alerts(entry: &Entry, report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for capture in &report.captures {
        let path = capture.file.path.display();
        match analyze::analyze_file_with_alerts(&capture.file.path, entry.alerts.clone()) {
            Ok((_, alerts)) => out.extend(
                alerts
                    .iter()
                    .filter(|a| a.severity >= Severity::Low)
                    .filter(|a| !entry.expected.iter().any(|e| e.covers(a)))
                    .map(|a| format!("no alert expected: {}", a.line(&entry.names))),
            ),
            Err(e) => out.push(format!("cannot read {path} for alerts: {e}")),
        }
    }
    out
}

/// A JUnit XML report: one test case per scenario, as CI systems read it.
pub fn junit(outcomes: &[ScenarioOutcome], took: Duration) -> String {
    let s = summarize(outcomes, took);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"labctl\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        outcomes.len(),
        s.failed,
        s.errors,
        took.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"labctl.scenarios\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        outcomes.len(),
        s.failed,
        s.errors,
        took.as_secs_f64()
    );
    for o in outcomes {
        let _ = write!(
            out,
            "    <testcase classname=\"labctl.scenarios\" name=\"{}\" time=\"{:.3}\"",
            markup(&o.scenario),
            o.took.as_secs_f64()
        );
        let mut body = o.failures.join("\n");
        if let Some(diff) = &o.diff {
            body.push_str("\nflows differ from the expected snapshot:\n");
            body.push_str(diff);
        }
        match o.status {
            "passed" => out.push_str("/>\n"),
            "failed" => {
                let first = o
                    .failures
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "flows differ from the expected snapshot".into());
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    markup(&first),
                    markup(&body)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    ">\n      <error message=\"the run could not happen\">{}</error>\n    </testcase>",
                    markup(&o.error)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, status: &'static str) -> ScenarioOutcome {
        ScenarioOutcome {
            scenario: name.into(),
            origin: format!("scenarios/{name}.toml"),
            status,
            failures: if status == "failed" {
                vec!["rule <x>: 3 packets: 0 packets matched".into()]
            } else {
                Vec::new()
            },
            diff: None,
            blessed: None,
            error: if status == "error" {
                "boom \u{1b}[0m".into()
            } else {
                String::new()
            },
            took: Duration::from_millis(12),
            out: PathBuf::from("out"),
        }
    }

    #[test]
    fn junit_counts_and_escapes() {
        let x = junit(
            &[
                outcome("a", "passed"),
                outcome("b", "failed"),
                outcome("c", "error"),
            ],
            Duration::from_secs(1),
        );
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
        assert!(x.contains("<testcase classname=\"labctl.scenarios\" name=\"a\" time=\"0.012\"/>"));
        assert!(
            x.contains("message=\"rule &lt;x&gt;: 3 packets: 0 packets matched\""),
            "{x}"
        );
        assert!(x.contains("boom \\x1b[0m"), "{x}");
        assert!(!x.contains('\u{1b}'));
    }

    #[test]
    fn an_expected_alert_is_exempt_by_id_and_sides_only() {
        let text = "name = \"t\"\n[hosts.a]\n[hosts.b]\n[[links]]\n\
                    ends = [\"a:eth0 10.0.0.1/24\", \"b:eth0 10.0.0.2/24\"]\ncapture = true\n\
                    [[expect]]\nalert = \"tcp-port-scan a > b\"\n\
                    [[expect]]\nalert = \"arp-scan a > *\"\n";
        let plan = scenario::parse(text, Origin::File("x.toml".into())).expect("valid");
        let exempt = Exempt::all(&plan);
        let alert = |id: &'static str, src: &str, dst: Party| analyze::alerts::Alert {
            id,
            severity: Severity::High,
            src: Party::Ip(src.parse().unwrap()),
            dst,
            first: Duration::ZERO,
            last: Duration::ZERO,
            count: 1,
            evidence: String::new(),
            frames: Vec::new(),
        };
        let b = Party::Ip("10.0.0.2".parse().unwrap());
        let covered = |a: &analyze::alerts::Alert| exempt.iter().any(|e| e.covers(a));
        assert!(covered(&alert("tcp-port-scan", "10.0.0.1", b)));
        assert!(covered(&alert("arp-scan", "10.0.0.1", Party::Many)));
        // Another direction, another id: not expected.
        assert!(!covered(&alert("tcp-port-scan", "10.0.0.2", b)));
        assert!(!covered(&alert("tcp-odd-flags", "10.0.0.1", b)));
    }

    #[test]
    fn judge_reads_a_child_report() {
        let entry = Entry {
            name: "x".into(),
            origin: Origin::File("scenarios/x.toml".into()),
            arg: "scenarios/x.toml".into(),
            waits: Duration::ZERO,
            names: analyze::Names::new(),
            alerts: Thresholds::new(),
            expected: Vec::new(),
        };
        let snapshot = snapshot::Comparison::Differs {
            diff: "-tcp a > b:21\n+tcp a > b:2121\n".into(),
        };
        let mut checks: Vec<crate::check::CheckResult> =
            serde_json::from_value(serde_json::json!([
                {"name": "file server:dump.txt", "passed": true, "detail": ""}
            ]))
            .unwrap();
        checks.extend(snapshot.check());
        let report = Report::sample(snapshot, checks);
        let f = Finished {
            label: "x".into(),
            code: Some(1),
            stdout: serde_json::to_vec(&report).unwrap(),
            stderr: Vec::new(),
            took: Duration::ZERO,
        };
        let o = judge(&entry, f, Path::new("out"), false);
        assert_eq!(o.status, "failed");
        assert!(o.failures.is_empty(), "{:?}", o.failures);
        assert!(o.diff.as_deref().unwrap().contains("+tcp a > b:2121"));
        let crashed = Finished {
            label: "x".into(),
            code: Some(2),
            stdout: Vec::new(),
            stderr: b"labctl: scenarios/x.toml:3:1: bad".to_vec(),
            took: Duration::ZERO,
        };
        let o = judge(&entry, crashed, Path::new("out"), false);
        assert_eq!(o.status, "error");
        assert!(o.error.contains("3:1: bad"));
    }
}
