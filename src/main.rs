//! The `labctl` command line. Each command's arguments are the library's own clap structs,
//! handed to its entry point as they are; the entry point returns a [`Verdict`] or an [`Error`],
//! and `main` alone turns that into the exit code (0 every check passed, 1 a check failed or
//! points were lost, 2 the input was bad or the run could not happen) and prints the error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use labctl::sandbox;
use labctl::scenario::{self, BUILTIN, Origin};
use labctl::verdict::{Error, Verdict};

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
    Run(labctl::run::RunArgs),
    /// List the scenarios that `labctl run` knows, with a one-line summary each
    List,
    /// Run scenarios in parallel (all by default) and compare their flows with the snapshots
    Test(labctl::suite::TestArgs),
    /// Analyse any pcap or pcapng file (no privileges needed)
    Show(labctl::analyze::ShowArgs),
    /// Grade student submissions: apply their rules to the lab, score with the lab's rubric
    Grade(labctl::grade::GradeArgs),
    /// Merge the results files of a class graded in shards into one gradebook
    MergeGrades(labctl::grade::shard::MergeArgs),
    /// Run one of labctl's servers in the current network namespace until Ctrl-C
    Serve {
        #[command(subcommand)]
        server: labctl::services::serve::ServeArgs,
    },
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let result = match Cli::parse().command {
        Command::Run(args) => labctl::run::main(&args),
        Command::List => list(),
        Command::Test(args) => labctl::suite::main(&args),
        Command::Show(args) => labctl::report::html::show_main(&args),
        Command::Grade(args) => labctl::grade::main(&args),
        Command::MergeGrades(args) => labctl::grade::shard::merge_main(&args),
        Command::Serve { server } => labctl::services::serve::main(server),
    };
    let code = match result {
        Ok(Verdict::Passed) => 0,
        // A batch with a submission that could not be graded has still graded every other
        // one, and the gradebook row says why: like lost points, not a failed command.
        Ok(Verdict::Failed | Verdict::Ungraded) => 1,
        // A scenario that could not run makes the whole suite's result unusable for CI.
        Ok(Verdict::NotRun) => 2,
        Err(error) => {
            if let Some(chain) = error.chain() {
                eprintln!("labctl: {chain}");
            }
            error.exit_code().unwrap_or(2)
        }
    };
    // Inside the sandbox, the outer process exits with this code at once.
    sandbox::finish(code);
    ExitCode::from(code)
}

/// A reader that stops early (`labctl show capture.pcap | head`) is not a failure of labctl's:
/// the output it no longer wants is dropped and the command ends as any pipe writer does, with
/// SIGPIPE's exit status (128 + 13), instead of a panic. Every other panic is reported as
/// usual. SIGPIPE itself stays ignored: a lab writes to its programs' standard input, and a
/// program that exits early must not end the run.
fn quiet_broken_pipe() {
    const BROKEN_PIPE_EXIT: u8 = 141;
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            sandbox::finish(BROKEN_PIPE_EXIT);
            std::process::exit(i32::from(BROKEN_PIPE_EXIT));
        }
        report(info);
    }));
}

fn list() -> Result<Verdict, Error> {
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
    Ok(Verdict::Passed)
}
