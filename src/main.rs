//! The `labctl` command line. `main` alone decides the exit code: 0 every check passed, 1 a
//! check failed, 2 the input was bad or the run could not happen.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use labctl::analyze::{ShowArgs, ShowView};
use labctl::sandbox::{self, Entered};
use labctl::scenario::{self, BUILTIN, Origin};

#[derive(Parser)]
#[command(
    name = "labctl",
    version,
    about = "Run network lab exercises on the real Linux kernel and check what happened on the wire"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario: build the lab, drive it, capture, analyse and check
    Run {
        /// A scenario name (from ./scenarios/ or built in) or a path to a .toml file
        scenario: String,
        /// Directory for the run's artifacts (pcaps, files, report); created if missing
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// After the last step, keep the lab up and print how to open a shell in each host;
        /// Ctrl-C (or SIGTERM) then stops the captures, analyses and checks as usual
        #[arg(long)]
        keep: bool,
    },
    /// List the scenarios that `labctl run` knows, with a one-line summary each
    List,
    /// Run scenarios in parallel (all by default) and compare their flows with the snapshots
    Test {
        /// Scenario names or paths; every scenario in ./scenarios/ and built in when none
        scenarios: Vec<String>,
        /// Also write a JUnit XML report to FILE
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the results as JSON
        #[arg(long)]
        json: bool,
        /// Record each run's flows as the expected snapshot
        #[arg(long)]
        bless: bool,
        /// Labs run at once (default: the number of CPUs)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Directory for the runs' artifacts (one subdirectory per scenario)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Analyse any pcap or pcapng file (no privileges needed)
    Show {
        /// The capture file
        file: PathBuf,
        /// Conversation table (packets and frame bytes each way), as Wireshark's Conversations
        #[arg(long, group = "view")]
        conversations: bool,
        /// Endpoint table, as Wireshark's Endpoints
        #[arg(long, group = "view")]
        endpoints: bool,
        /// TCP stream N as text, both directions (Follow TCP Stream)
        #[arg(long, value_name = "N", group = "view")]
        follow: Option<usize>,
        /// The normalised flows that snapshots compare
        #[arg(long, group = "view")]
        flows: bool,
        /// Packet lines with the IP header (tos, ttl, id, offset, flags), as tcpdump -v
        #[arg(short, long)]
        verbose: bool,
        /// JSON instead of text
        #[arg(long)]
        json: bool,
        /// Only frames matching this Wireshark display filter (e.g. 'tcp.port == 21 && !arp')
        #[arg(short = 'Y', long, value_name = "EXPR")]
        display_filter: Option<String>,
        /// Only frames matching this BPF capture filter (e.g. 'host 10.0.0.2 and port 23')
        #[arg(short = 'f', long, value_name = "EXPR")]
        capture_filter: Option<String>,
        /// Print only the number of matching frames
        #[arg(long)]
        count: bool,
    },
    /// Grade student submissions: apply their rules to the lab, score with the lab's rubric
    Grade {
        /// A lab with a rubric under labs/ (e.g. homework-redirect)
        lab: String,
        /// Submission directories (commands.sh, a .pcap or .pcapng, answers.toml)
        dirs: Vec<PathBuf>,
        /// Grade the lab's own reference solution (labs/LAB/reference)
        #[arg(long)]
        reference: bool,
        /// Print the grade as JSON
        #[arg(long)]
        json: bool,
        /// Also write the grade as JUnit XML
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write one CSV row per submission (grades each in its own child process)
        #[arg(long, value_name = "CSV")]
        gradebook: Option<PathBuf>,
        /// Submissions graded in parallel
        #[arg(long, default_value_t = 1, value_name = "N")]
        jobs: usize,
        /// Keep the lab run's artifacts in this directory
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run one of labctl's servers in the current network namespace until Ctrl-C
    Serve {
        #[command(subcommand)]
        server: Serve,
    },
}

#[derive(Subcommand)]
enum Serve {
    /// Like `nc -l -k -p PORT > FILE`: append what every client sends to a file
    Dump {
        #[arg(long, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        #[arg(long)]
        file: PathBuf,
    },
    /// FTP with passive mode (PASV and EPSV), anonymous login
    Ftp {
        #[arg(long, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        /// Directory to serve; without it, an empty writable tree in memory
        #[arg(long)]
        root: Option<PathBuf>,
        /// Refuse uploads
        #[arg(long)]
        read_only: bool,
    },
    /// SMTP, storing messages in an mbox file
    Smtp {
        #[arg(long, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        #[arg(long)]
        mailbox: PathBuf,
        /// Name in the banner and replies
        #[arg(long)]
        hostname: Option<String>,
    },
    /// HTTP/1.1 serving a directory
    Http {
        #[arg(long, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        #[arg(long)]
        root: PathBuf,
    },
    /// DNS over UDP and TCP from RFC 1035 zone files
    Dns {
        #[arg(long, value_name = "ADDR:PORT")]
        listen: SocketAddr,
        /// A zone file (repeatable)
        #[arg(long = "zone", required = true)]
        zones: Vec<PathBuf>,
        /// Origin for zone files without $ORIGIN
        #[arg(long)]
        origin: Option<String>,
    },
}

/// Where the outer process tells the sandboxed one which artifacts directory to use, so both
/// agree on a name made from the clock.
const OUT_ENV: &str = "LABCTL_RUN_OUT";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => list(),
        Command::Test {
            scenarios,
            junit,
            json,
            bless,
            jobs,
            out,
        } => ExitCode::from(labctl::suite::run(&labctl::suite::TestArgs {
            names: scenarios,
            junit,
            json,
            bless,
            jobs: jobs.map(usize::from),
            out,
        })),
        Command::Run {
            scenario,
            out,
            json,
            keep,
        } => run(&scenario, out, json, keep),
        Command::Show {
            file,
            conversations,
            endpoints,
            follow,
            flows,
            verbose,
            json,
            display_filter,
            capture_filter,
            count,
        } => {
            let view = match (conversations, endpoints, follow, flows) {
                (true, _, _, _) => ShowView::Conversations,
                (_, true, _, _) => ShowView::Endpoints,
                (_, _, Some(n), _) => ShowView::Follow(n),
                (_, _, _, true) => ShowView::Flows,
                _ => ShowView::Packets,
            };
            let args = ShowArgs {
                file,
                view,
                json,
                names: Default::default(),
                verbose,
                display_filter,
                capture_filter,
                count,
            };
            let mut stdout = std::io::stdout().lock();
            match labctl::analyze::show(&args, &mut stdout) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::Serve { server } => serve(server),
        Command::Grade {
            lab,
            dirs,
            reference,
            json,
            junit,
            gradebook,
            jobs,
            out,
        } => ExitCode::from(labctl::grade::main(labctl::grade::GradeArgs {
            lab,
            dirs,
            reference,
            json,
            junit,
            gradebook,
            jobs,
            out,
        })),
    }
}

fn serve(server: Serve) -> ExitCode {
    use labctl::services::{dns, dump, ftp, http, smtp};
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result: Result<(), Box<dyn std::error::Error>> = runtime.block_on(async move {
        match server {
            Serve::Dump { listen, file } => {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
                eprintln!(
                    "labctl: dump server on {listen}, appending to {}",
                    file.display()
                );
                dump::serve(listener, file, Default::default(), ctrl_c).await?;
            }
            Serve::Ftp {
                listen,
                root,
                read_only,
            } => {
                ftp::serve_cli(
                    ftp::FtpCliArgs {
                        listen,
                        root,
                        read_only,
                    },
                    ctrl_c,
                )
                .await?
            }
            Serve::Smtp {
                listen,
                mailbox,
                hostname,
            } => {
                smtp::serve_cli(
                    smtp::SmtpCliArgs {
                        listen,
                        mailbox,
                        hostname,
                    },
                    ctrl_c,
                )
                .await?
            }
            Serve::Http { listen, root } => {
                http::serve_cli(http::HttpCliArgs { listen, root }, ctrl_c).await?
            }
            Serve::Dns {
                listen,
                zones,
                origin,
            } => {
                dns::serve_cli(
                    dns::DnsCliArgs {
                        listen,
                        zones,
                        origin,
                    },
                    ctrl_c,
                )
                .await?
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("labctl: {message}");
    ExitCode::from(2)
}

fn list() -> ExitCode {
    let mut rows = Vec::new();
    let local = std::fs::read_dir("scenarios")
        .into_iter()
        .flatten()
        .filter_map(Result::ok);
    for entry in local {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match scenario::parse(&text, Origin::File(path.clone())) {
                Ok(plan) => rows.push((plan.name, plan.summary, path.display().to_string())),
                Err(e) => rows.push((
                    path.display().to_string(),
                    format!("invalid: {}", e.msg),
                    String::new(),
                )),
            }
        }
    }
    for b in BUILTIN {
        if rows.iter().any(|(name, _, _)| name == b.name) {
            continue;
        }
        let summary = scenario::parse(b.toml, Origin::Builtin(b.name))
            .map(|p| p.summary)
            .unwrap_or_default();
        rows.push((b.name.to_string(), summary, "built in".to_string()));
    }
    rows.sort();
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (name, summary, from) in rows {
        println!("{name:<width$}  {summary}  ({from})");
    }
    ExitCode::SUCCESS
}

fn run(name: &str, out: Option<PathBuf>, json: bool, keep: bool) -> ExitCode {
    // Validate everything before the sandbox exists: a bad scenario creates nothing.
    let plan = match scenario::load(name) {
        Ok(plan) => plan,
        Err(e) => return fail(e),
    };
    if let Err(e) = labctl::run::preflight(&plan) {
        return fail(e);
    }
    let out = match std::env::var_os(OUT_ENV) {
        Some(dir) if sandbox::is_inside() => PathBuf::from(dir),
        _ => out.unwrap_or_else(|| default_out(&plan.name)),
    };
    // SAFETY of the environment change: no other thread exists yet.
    let env: [(&str, OsString); 1] = [(OUT_ENV, out.clone().into_os_string())];
    if keep && !sandbox::is_inside() {
        // Ctrl-C reaches both processes; only the inner one acts on it, by ending the lab.
        sandbox::ignore_interrupt();
    }
    match sandbox::enter(&env) {
        Ok(Entered::Finished(code)) => return ExitCode::from(code.clamp(0, 255) as u8),
        Ok(Entered::Inside) => {}
        Err(e) => return fail(e),
    }
    let code = run_inside(&plan, &out, json, keep);
    sandbox::finish(code);
    ExitCode::from(code)
}

/// The run itself, inside the sandbox; returns the exit code.
fn run_inside(plan: &scenario::Plan, out: &std::path::Path, json: bool, keep: bool) -> u8 {
    let failed = |message: &dyn std::fmt::Display| {
        eprintln!("labctl: {message}");
        2
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return failed(&format!("cannot start the runtime: {e}")),
    };
    let options = labctl::run::Options { keep };
    let report = match runtime.block_on(labctl::run::execute_with(plan, out, &options)) {
        Ok(report) => report,
        Err(e) => return failed(&e),
    };
    let report_path = out.join("report.json");
    let as_json = serde_json::to_string_pretty(&report).expect("a report serialises");
    if let Err(e) = std::fs::write(&report_path, &as_json) {
        return failed(&format!("{}: {e}", report_path.display()));
    }
    if json {
        println!("{as_json}");
    } else {
        print!("{}", report.text(std::io::stdout().is_terminal()));
    }
    if report.passed { 0 } else { 1 }
}

/// `./labctl-runs/<scenario>-<UTC date>-<time>-<pid>`.
fn default_out(scenario: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    PathBuf::from("labctl-runs").join(format!(
        "{scenario}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        std::process::id()
    ))
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (era * 400 + yoe + if m <= 2 { 1 } else { 0 }, m, d)
}
