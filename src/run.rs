//! One run, stage by stage: topology, captures, services, rules, steps, captures stopped,
//! analysis, checks, report. Each stage takes the previous stages' plain data and is timed.
//!
//! Contract: [`execute`] runs inside the sandbox. It returns a [`Report`] whenever the lab could
//! be run, whatever the lab showed (a failed check is a verdict, not an error); it returns a
//! [`RunError`] only when the run itself could not happen. Nothing is undone at the end: the
//! sandbox dies with the process, and every namespace with it.

mod command;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::analyze;
use crate::capture::{self, CaptureError};
use crate::check::{self, ConversationFact, snapshot};
use crate::drive::{self, ProgramError};
use crate::report::{CaptureView, Report, Stage};
use crate::sandbox::{self, SandboxError};
use crate::scenario::{Expect, NetExpect, Plan};
use crate::services::Tracker;
use crate::topology::{self, Lab, TopologyError};
use crate::wire;

pub use command::{RunArgs, main};
mod servers;

/// How long the end of a run waits for servers to finish and TCP to settle.
const SETTLE_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Program(#[from] ProgramError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Analysis(#[from] crate::wire::WireError),
    #[error(transparent)]
    Services(#[from] servers::StartError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks, before anything is built, that every program the plan runs is installed.
pub fn preflight(plan: &Plan) -> Result<(), ProgramError> {
    if !plan.rules.is_empty() {
        drive::locate("iptables")?;
    }
    if !plan.rule_files.is_empty() {
        drive::locate("iptables-restore")?;
    }
    // Each program service runs its argv's program.
    for svc in &plan.services {
        if let crate::scenario::ServiceKind::Program { argv, .. } = &svc.kind {
            drive::locate(&argv[0])?;
        }
    }
    // Each step kind says which programs it runs (the step registry, `scenario::parse::steps`).
    for program in plan.steps.iter().flat_map(|s| &s.programs) {
        drive::locate(program)?;
    }
    if plan.expects.iter().any(|e| {
        matches!(
            e,
            Expect::Net {
                what: NetExpect::Counter { .. },
                ..
            }
        )
    }) {
        drive::locate("iptables-save")?;
    }
    Ok(())
}

/// Times a stage and records it.
struct Stages {
    stages: Vec<Stage>,
    last: Instant,
}

impl Stages {
    fn done(&mut self, name: &str, summary: String) {
        let now = Instant::now();
        self.stages.push(Stage {
            name: name.to_string(),
            took: now - self.last,
            summary,
        });
        self.last = now;
    }
}

/// How a run behaves beyond what its scenario says.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// After the last step, keep the lab up for a person to explore until Ctrl-C or SIGTERM.
    pub keep: bool,
}

/// Runs the lab described by `plan`, writing artifacts under `out`.
pub async fn execute(plan: &Plan, out: &Path) -> Result<Report, RunError> {
    execute_with(plan, out, &Options::default()).await
}

/// [`execute`], with options.
pub async fn execute_with(plan: &Plan, out: &Path, options: &Options) -> Result<Report, RunError> {
    let started = Instant::now();
    let mut stages = Stages {
        stages: Vec::new(),
        last: started,
    };
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    // A reused --out starts clean: services append to their files, and a previous run's dump
    // would otherwise be checked again.
    let hosts_dir = out.join("hosts");
    if hosts_dir.exists() {
        std::fs::remove_dir_all(&hosts_dir).map_err(io_err(&hosts_dir))?;
    }
    for host in &plan.hosts {
        let dir = out.join("hosts").join(&host.name);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    }
    install_hosts_file(plan, out)?;
    install_resolv_conf(plan, out)?;
    stages.done(
        "sandbox",
        format!(
            "private user, mount, network and PID namespaces; artifacts in {}",
            out.display()
        ),
    );

    let lab = topology::build(plan, out).await?;
    stages.done("topology", describe_topology(plan));

    let points: Vec<capture::Point> = plan
        .links
        .iter()
        .flat_map(|l| l.ends.iter().map(move |e| (e, l.capture_filter.as_ref())))
        .filter(|(e, _)| e.capture)
        .map(|(e, filter)| (e.host, e.iface.as_str(), filter))
        .chain(
            (0..plan.hosts.len())
                .filter(|h| plan.hosts[*h].lo.capture)
                .map(|h| (h, "lo", None)),
        )
        .map(|(host, iface, filter)| capture::Point {
            host,
            iface: iface.to_string(),
            path: out.join(format!("{}-{iface}.pcap", plan.hosts[host].name)),
            filter: filter.cloned(),
        })
        .collect();
    let running = capture::start(&lab, &points)?;
    stages.done(
        "captures",
        points
            .iter()
            .map(|p| format!("{}:{}", plan.hosts[p.host].name, p.iface))
            .collect::<Vec<_>>()
            .join(", "),
    );

    let tracker = Tracker::default();
    let mut servers = servers::start(plan, &lab, &tracker).await?;
    stages.done(
        "services",
        plan.services
            .iter()
            .map(|s| {
                let port = match s.port {
                    0 => String::new(),
                    port => format!(":{port}"),
                };
                format!(
                    "{} ({}) on {}{port}",
                    s.name,
                    s.kind.name(),
                    plan.hosts[s.host].name,
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    );

    let mut rule_results = Vec::new();
    for (i, rule) in plan.rules.iter().map(Some).chain([None]).enumerate() {
        // A file placed after more single rules than the plan has (grading replaces the
        // rules with a student's) comes after them all.
        for file in plan
            .rule_files
            .iter()
            .filter(|f| f.after.min(plan.rules.len()) == i)
        {
            let step = crate::scenario::StepPlan::restore(file);
            rule_results.push(drive::run_step(&lab, &step).await?);
        }
        if let Some(rule) = rule {
            let step = crate::scenario::StepPlan::rule(rule.host, rule.rule.clone(), 0);
            rule_results.push(drive::run_step(&lab, &step).await?);
        }
    }
    if !plan.rules.is_empty() || !plan.rule_files.is_empty() {
        let mut done = format!("{} iptables rules", plan.rules.len());
        if !plan.rule_files.is_empty() {
            let files: Vec<&str> = plan.rule_files.iter().map(|f| f.name.as_str()).collect();
            done.push_str(&format!(", rules files {}", files.join(", ")));
        }
        stages.done("rules", done);
    }

    let mut steps = rule_results;
    for step in &plan.steps {
        steps.push(drive::run_step(&lab, step).await?);
    }
    stages.done("steps", format!("{} steps", plan.steps.len()));

    if options.keep {
        hold(&lab).await;
        stages.done("kept", "the lab stayed up for exploration".into());
    }

    servers.stop_programs().await;
    settle(&lab, &tracker).await;
    let counters = read_counters(plan, &lab).await;
    let files = running.stop()?;
    servers.stop().await;
    stages.done(
        "stop",
        files
            .iter()
            .map(|f| format!("{}:{} {} packets", f.host, f.iface, f.packets))
            .collect::<Vec<_>>()
            .join(", "),
    );

    let mut names = analyze::Names::new();
    for (addr, host) in plan.addresses() {
        names.insert(addr, host);
    }
    // Detection only when the scenario expects alerts: other runs pay nothing for it.
    let detect = (plan.snapshot_alerts
        || plan
            .expects
            .iter()
            .any(|e| matches!(e, Expect::Alert { .. })))
    .then_some(&plan.alerts);
    let mut alerts = check::alerts::AlertsSeen::default();
    if detect.is_some() {
        alerts.macs = lab_macs(plan, &lab).await;
    }
    let mut captures = Vec::new();
    let mut flows = String::new();
    let mut conversations = Vec::new();
    let mut facts = Vec::new();
    let mut capture_flows = Vec::new();
    let mut filtered = Vec::new();
    for file in files {
        let mut counts = check::filter::FilterCounts::new(plan, &file.host, &file.iface);
        let seen = analyze_capture(&file.path, &names, &mut counts, detect)?;
        filtered.push(counts);
        if detect.is_some() {
            alerts
                .captures
                .push((format!("{}:{}", file.host, file.iface), seen.alerts));
        }
        if points.len() > 1 {
            flows.push_str(&format!("capture {}:{}\n", file.host, file.iface));
        }
        flows.push_str(&seen.flows);
        capture_flows.push(seen.flows);
        conversations.extend(seen.conversations);
        facts.push(seen.facts);
        captures.push(CaptureView {
            file,
            lines: seen.lines,
            analysis: seen.analysis,
        });
    }
    std::fs::write(out.join("flows.txt"), &flows).map_err(io_err(&out.join("flows.txt")))?;
    stages.done(
        "analysis",
        format!("{} TCP conversations", conversations.len()),
    );

    let mut checks = check::steps(&steps);
    let host_dir = |id: usize| lab.host(id).dir.clone();
    let analyses: Vec<&analyze::Analysis> = captures.iter().map(|c| &c.analysis).collect();
    let captured: Vec<check::net::CaptureSeen> = captures
        .iter()
        .zip(facts.iter().zip(&capture_flows))
        .map(|(c, (facts, flows))| check::net::CaptureSeen {
            host: &c.file.host,
            iface: &c.file.iface,
            flows,
            facts,
        })
        .collect();
    checks.extend(check::expectations(
        plan,
        &check::Seen {
            host_dir: &host_dir,
            conversations: &conversations,
            analyses: &analyses,
            net: check::net::NetSeen {
                flows: &flows,
                captures: &captured,
                counters: &counters,
            },
            filtered: &filtered,
            alerts: &alerts,
        },
    ));
    let snapshot_text = plan
        .snapshot_alerts
        .then(|| check::alerts::snapshot(plan, &alerts));
    if let Some(text) = &snapshot_text {
        let path = out.join("snapshot.txt");
        std::fs::write(&path, text).map_err(io_err(&path))?;
    }
    let comparison = if plan.snapshot {
        let text = snapshot_text.as_deref().unwrap_or(&flows);
        snapshot::compare(plan.expected_snapshot().as_deref(), text)
    } else {
        snapshot::Comparison::Off
    };
    // Last, as the report's readers expect it (`Report::snapshot_check`).
    checks.extend(comparison.check());
    stages.done("checks", format!("{} checks", checks.len()));

    let passed = checks.iter().all(|c| c.passed);
    Ok(Report {
        scenario: plan.name.clone(),
        summary: plan.summary.clone(),
        origin: plan.origin.to_string(),
        out: out.to_path_buf(),
        stages: stages.stages,
        steps,
        captures,
        flows,
        snapshot_text,
        snapshot: comparison,
        checks,
        passed,
        took: started.elapsed(),
        topology: crate::report::topology::Topology::from_plan(plan),
        names,
    })
}

/// The packet counter of each rule expectation's rule, in the plan's expectation order.
async fn read_counters(plan: &Plan, lab: &Lab) -> Vec<Option<Result<u64, String>>> {
    let mut out = Vec::new();
    for expect in &plan.expects {
        let Expect::Net {
            what: NetExpect::Counter { host, rule, .. },
            ..
        } = expect
        else {
            out.push(None);
            continue;
        };
        let read = drive::read_counters(lab.host(*host), rule.table()).await;
        out.push(Some(match read {
            Err(e) => Err(e.to_string()),
            Ok(counters) => match rule.command() {
                crate::rules::Command::DeleteNumber { chain, number } => counters
                    .iter()
                    .filter(|c| c.rule.chain().as_ref() == Some(chain))
                    .nth((*number as usize).saturating_sub(1)),
                _ => counters.iter().find(|c| drive::same_rule(&c.rule, rule)),
            }
            .map(|c| c.packets)
            .ok_or_else(|| {
                format!(
                    "no such rule in {}'s {} table",
                    lab.host(*host).name,
                    rule.table().name()
                )
            }),
        }));
    }
    out
}

/// What the analysis stage makes of one capture of the run, in one pass over its file.
struct Seen {
    analysis: analyze::Analysis,
    flows: String,
    conversations: Vec<ConversationFact>,
    lines: Vec<String>,
    facts: analyze::WireFacts,
    /// The detection pass's alerts, when the run asked for them.
    alerts: Vec<analyze::alerts::Alert>,
}

/// The report's packet lines, rendered in the analysis pass.
struct Lines {
    render: analyze::PacketLines,
    lines: Vec<String>,
}

impl analyze::FrameSink for Lines {
    fn push(&mut self, frame: &wire::FrameRef<'_>, packet: &wire::Packet) {
        self.lines.push(self.render.line(frame, packet));
    }
}

/// Analyses one capture; `filters` sees every frame too, in the same pass, and so does the
/// alert detector when `detect` gives it thresholds.
fn analyze_capture(
    path: &Path,
    names: &analyze::Names,
    filters: &mut dyn analyze::FrameSink,
    detect: Option<&crate::catalogue::Thresholds>,
) -> Result<Seen, RunError> {
    let mut lines = Lines {
        render: analyze::PacketLines::new(names.clone()),
        lines: Vec::new(),
    };
    let mut facts = analyze::WireFacts::default();
    let mut detector = detect.map(|t| analyze::alerts::Detector::new(t.clone()));
    let analysis = {
        let mut sinks: Vec<&mut dyn analyze::FrameSink> = vec![&mut lines, &mut facts, filters];
        if let Some(d) = detector.as_mut() {
            sinks.push(d);
        }
        analyze::analyze_file_feeding(path, &mut sinks)?
    };
    let alerts = detector.map(|d| d.finish(&analysis)).unwrap_or_default();
    let flows = analyze::render_flows(&analysis, names);
    let conversations = analysis
        .conversations
        .iter()
        .filter_map(|c| {
            let tcp = c.tcp.as_ref()?;
            Some(ConversationFact {
                client: names.host(&c.initiator.ip),
                server: names.host(&c.responder.ip),
                server_port: c.responder.port,
                handshake: tcp.handshake,
                outcome: tcp.outcome,
                client_sent: c.transcript[0].bytes.clone(),
                server_sent: c.transcript[1].bytes.clone(),
            })
        })
        .collect();
    Ok(Seen {
        analysis,
        flows,
        conversations,
        lines: lines.lines,
        facts,
        alerts,
    })
}

/// Every host interface's MAC address, for alerts whose sides are MAC addresses.
async fn lab_macs(plan: &Plan, lab: &Lab) -> Vec<(wire::Mac, usize)> {
    let mut out = Vec::new();
    for end in plan.links.iter().flat_map(|l| l.ends.iter()) {
        if plan.hosts[end.host].switch.is_some() {
            continue;
        }
        if let Ok(mac) = topology::mac_of(lab.host(end.host), &end.iface).await {
            out.push((wire::Mac(mac), end.host));
        }
    }
    out
}

fn describe_topology(plan: &Plan) -> String {
    plan.links
        .iter()
        .map(|l| {
            let end = |e: &crate::scenario::LinkEnd| {
                let addr = e.addr.map(|a| format!(" {a}")).unwrap_or_default();
                format!("{}:{}{addr}", plan.hosts[e.host].name, e.iface)
            };
            format!("{} <-> {}", end(&l.ends[0]), end(&l.ends[1]))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lab host names resolve for real programs run in the lab (`curl http://server/`).
fn install_hosts_file(plan: &Plan, out: &Path) -> Result<(), RunError> {
    let mut text = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
    for (addr, host) in plan.addresses() {
        text.push_str(&format!("{addr}\t{host}\n"));
    }
    install_etc_file(out, "hosts", &text)
}

/// Writes `text` as the run's `etc-NAME` and, where the machine has an `/etc/NAME`, mounts it
/// there for the lab's processes (in the sandbox's own mount tree: the machine's file is
/// untouched).
fn install_etc_file(out: &Path, name: &str, text: &str) -> Result<(), RunError> {
    let path = out.join(format!("etc-{name}"));
    std::fs::write(&path, text).map_err(io_err(&path))?;
    let target = Path::new("/etc").join(name);
    if target.is_file() {
        sandbox::bind_file(&path, &target)?;
    }
    Ok(())
}

/// Lab hosts get a resolver file of their own: the lab's DNS servers (those on port 53), or
/// none. A real client run in the lab (dhclient's script, a student's `resolvconf`) then writes
/// to the run's copy, never to the machine's `/etc/resolv.conf`, and no lookup reaches for the
/// machine's resolvers.
fn install_resolv_conf(plan: &Plan, out: &Path) -> Result<(), RunError> {
    let mut text = String::from("# the lab's resolver file (written by labctl for this run)\n");
    for service in &plan.services {
        if matches!(service.kind, crate::scenario::ServiceKind::Dns { .. }) && service.port == 53 {
            for (addr, host) in plan.addresses() {
                if host == plan.hosts[service.host].name && addr.is_ipv4() {
                    text.push_str(&format!("nameserver {addr}\n"));
                }
            }
        }
    }
    install_etc_file(out, "resolv.conf", &text)
}

/// Keeps the lab up until Ctrl-C or SIGTERM, having said how to get a shell in each host.
/// The captures keep recording, so what a person does in the lab is in the report too.
async fn hold(lab: &Lab) {
    use tokio::signal::unix::{SignalKind, signal};
    // Listening starts before the invitation is printed, so an early Ctrl-C is not lost.
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
    let mut text = String::from("the lab is up; a shell in each host:\n");
    for host in &lab.hosts {
        match sandbox::shell_command(&host.netns, &shell) {
            Some(command) => text.push_str(&format!("  {:<10} {command}\n", host.name)),
            None => text.push_str(&format!(
                "  {:<10} (cannot tell this process's id)\n",
                host.name
            )),
        }
    }
    text.push_str("Ctrl-C ends the lab: captures stop, then analysis and checks as usual\n");
    eprint!("{text}");
    match (interrupt, terminate) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => eprintln!("labctl: cannot listen for Ctrl-C; ending the lab now"),
    }
}

/// Waits until every server has finished with its clients and no TCP socket in the lab is
/// still exchanging handshake or close packets, so the captures can hold the whole story.
async fn settle(lab: &Lab, tracker: &Tracker) {
    let deadline = Instant::now() + SETTLE_DEADLINE;
    let _ = tokio::time::timeout(SETTLE_DEADLINE, tracker.idle()).await;
    while Instant::now() < deadline {
        let busy = lab.hosts.iter().any(|host| {
            ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"]
                .iter()
                .any(|file| {
                    host.netns
                        .read_proc(file)
                        .ok()
                        .and_then(Result::ok)
                        .is_some_and(|text| tcp_in_transition(&text))
                })
        });
        if !busy {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// True when a socket in `/proc/net/tcp` is in a state that still has packets to send:
/// SYN_SENT (02), SYN_RECV (03), FIN_WAIT1 (04), LAST_ACK (09), CLOSING (0B).
fn tcp_in_transition(proc_net_tcp: &str) -> bool {
    proc_net_tcp.lines().skip(1).any(|line| {
        matches!(
            line.split_whitespace().nth(3),
            Some("02" | "03" | "04" | "09" | "0B")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_states_that_still_send() {
        let head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        let listen = "   0: 00000000:6C10 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n";
        let last_ack = "   1: 0200000A:6C10 0100000A:A1B2 09 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n";
        let time_wait = "   2: 0100000A:A1B2 0200000A:6C10 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3 0\n";
        assert!(!tcp_in_transition(&format!("{head}{listen}{time_wait}")));
        assert!(tcp_in_transition(&format!("{head}{listen}{last_ack}")));
    }
}
