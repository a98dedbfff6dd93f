//! `labctl run SCENARIO`: the command around the pipeline.
//!
//! Contract: [`main`] validates the scenario and finds every program it needs before the sandbox
//! exists, so a bad scenario creates no namespace and no artifacts directory. Inside the sandbox
//! it runs the pipeline, writes `report.json` and `report.html` into the artifacts directory
//! (and the page to `--html FILE` too) and prints the report
//! (text, or JSON with `--json`). It returns [`Verdict::Passed`] or [`Verdict::Failed`] as the
//! report says, and an [`Error`] only when the run could not happen.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::report::html;
use crate::sandbox;
use crate::scenario;
use crate::services::conn::UtcTime;
use crate::verdict::{Error, Verdict};

/// `labctl run`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A scenario name (from ./scenarios/ or built in) or a path to a .toml file
    pub scenario: String,
    /// Directory for the run's artifacts (pcaps, files, report); created if missing
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// After the last step, keep the lab up and print how to open a shell in each host;
    /// Ctrl-C (or SIGTERM) then stops the captures, analyses and checks as usual
    #[arg(long)]
    pub keep: bool,
    /// Also write the HTML report (topology, steps, checks, packet ladders) to FILE; every
    /// run writes it as report.html in its artifacts directory
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Runs `labctl run`. See the module documentation.
pub fn main(args: &RunArgs) -> Result<Verdict, Error> {
    // Validate everything before the sandbox exists: a bad scenario creates nothing.
    let plan = scenario::load(&args.scenario)?;
    super::preflight(&plan)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(&plan.name));
    if args.keep {
        // Ctrl-C reaches both processes; only the inner one acts on it, by ending the lab.
        sandbox::ignore_interrupt();
    }
    sandbox::run_lab(&out, async |out| {
        let options = super::Options { keep: args.keep };
        let report = super::execute_with(&plan, &out, &options).await?;
        let report_path = out.join("report.json");
        let as_json = serde_json::to_string_pretty(&report).expect("a report serialises");
        std::fs::write(&report_path, &as_json)
            .map_err(|e| Error::msg(format!("{}: {e}", report_path.display())))?;
        let page = html::run_page(&report);
        html::write_page(&out.join("report.html"), &page)?;
        if let Some(path) = &args.html {
            html::write_page(path, &page)?;
        }
        if args.json {
            println!("{as_json}");
        } else {
            print!("{}", report.text(std::io::stdout().is_terminal()));
        }
        Ok(if report.passed {
            Verdict::Passed
        } else {
            Verdict::Failed
        })
    })
}

/// `./labctl-runs/<scenario>-<UTC date>-<time>-<pid>`.
fn default_out(scenario: &str) -> PathBuf {
    let t = UtcTime::from_system(std::time::SystemTime::now());
    PathBuf::from("labctl-runs").join(format!(
        "{scenario}-{:04}{:02}{:02}-{:02}{:02}{:02}-{}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        std::process::id()
    ))
}
