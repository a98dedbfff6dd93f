//! Grading: a student's submission applied to a lab, scored by the lab's rubric, with one line
//! of feedback per check in the student's terms.
//!
//! Pipeline: [`rubric::load`] (`labs/<lab>/rubric.toml` -> validated [`Rubric`]) ->
//! [`Submission::read`] (untrusted directory: commands.sh, a capture, answers.toml) ->
//! [`Commands::read`] (iptables lines parsed, everything else only read) -> [`student_plan`]
//! (the lab's plan with the student's rules in place of the reference rule steps, interfaces
//! the lab does not have mapped onto the lab's) -> `run::execute` (the lab, for real, inside the
//! sandbox) -> evidence (the lab's capture and the student's own, analysed) -> [`score`] ->
//! [`Grade`] (text, JSON, JUnit; a CSV row in a gradebook).
//!
//! Contract: [`grade`] returns a [`Grade`] for any submission, however broken or hostile: a
//! missing or damaged file is feedback, not an error. Only a lab that cannot run at all is a
//! [`RunError`]. The submission never reaches a shell: its iptables lines become argument
//! vectors run inside the lab's host, its other lines are never run, and its files are read
//! without following links.

pub mod answers;
pub mod attack;
pub mod batch;
pub mod builtin;
pub mod commands;
pub mod evidence;
pub mod filtercheck;
pub mod formats;
pub mod gradebook;
pub mod html;
pub mod meaning;
pub mod render;
pub mod rubric;
pub mod rulecheck;
pub mod score;
pub mod shard;
pub mod submission;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::analyze::Names;
use crate::rules::Iface;
use crate::run::{self, RunError};
use crate::sandbox;
use crate::scenario::{Action, Plan, StepOutcome, StepPlan};
use crate::verdict::{Error, Verdict};

pub use commands::Commands;
pub use formats::Format;
pub use rubric::Rubric;
pub use submission::Submission;

use evidence::{CaptureSeen, LabSeen};
use score::Evidence;

/// At most this many of a submission's iptables lines are applied.
const MAX_RULES: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("no lab named {lab:?} (labs with a rubric: {known})")]
    NoLab { lab: String, known: String },
    #[error("{path}: {msg}", path = path.display())]
    Rubric { path: PathBuf, msg: String },
    #[error("the lab could not run")]
    LabNotRun(#[source] RunError),
}

/// The grade of one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grade {
    pub lab: String,
    pub submission: String,
    pub score: u32,
    pub max: u32,
    pub checks: Vec<CheckGrade>,
    /// What labctl did with the submission that the student should know (interfaces mapped,
    /// lines not applied, files ignored).
    pub notes: Vec<String>,
    /// Why the lab could not run on this host, when it could not: the checks that need it
    /// are marked not run, every other check is scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab_not_run: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckGrade {
    pub name: String,
    pub points: u32,
    pub max: u32,
    pub passed: bool,
    /// False for a check that needs the lab when the lab could not run: not passed, and not
    /// the student's fault.
    pub ran: bool,
    /// One line in the student's terms: the rubric's pass line, or what is wrong.
    pub feedback: String,
    /// The rubric's fail line, when the feedback is a more specific diagnosis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The feedback of a check that needs the lab when the lab could not run.
pub const NOT_RUN: &str =
    "not run: the lab could not run on this host, so this check was not scored";

/// The student's rules as the lab applies them.
pub struct StudentPlan {
    pub plan: Plan,
    /// (commands.sh line, index of the rule's result in the report's steps).
    pub applied: Vec<(usize, usize)>,
    pub notes: Vec<String>,
    /// Interfaces renamed: (student's name, the lab's).
    pub mapped: Vec<(String, String)>,
    /// (commands.sh line, why the line was not applied).
    pub refused: Vec<(usize, String)>,
    /// (commands.sh line, the rule as applied, interfaces mapped), in order.
    pub rules: Vec<(usize, crate::rules::Rule)>,
}

/// The lab's plan with the student's iptables lines in place of the reference rule steps.
pub fn student_plan(rubric: &Rubric, commands: &Commands) -> StudentPlan {
    let mut plan = rubric.plan.clone();
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    let Some(spec) = &rubric.rules else {
        return StudentPlan {
            plan,
            applied: Vec::new(),
            notes,
            mapped: Vec::new(),
            refused,
            rules: Vec::new(),
        };
    };
    let host_name = plan.hosts[spec.host].name.clone();
    let ifaces: Vec<String> = plan
        .links
        .iter()
        .flat_map(|l| l.ends.iter())
        .filter(|e| e.host == spec.host)
        .map(|e| e.iface.clone())
        .chain(["lo".to_string()])
        .collect();
    let fallback: Iface = spec
        .loose
        .in_iface
        .as_deref()
        .or(spec.loose.out_iface.as_deref())
        .or(ifaces.first().map(String::as_str))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| "eth0".parse().expect("a valid name"));
    let mut steps = Vec::new();
    let mut rules = Vec::new();
    let mut mapped = Vec::new();
    for (line, ipt) in commands.iptables() {
        if ipt.listing {
            continue;
        }
        let mut rule = match &ipt.parsed {
            Ok(rule) => rule.clone(),
            Err(e) => {
                refused.push((line.line, format!("commands.sh {e}: not applied")));
                continue;
            }
        };
        if steps.len() == MAX_RULES {
            notes.push(format!(
                "only the first {MAX_RULES} iptables rules of commands.sh were applied"
            ));
            break;
        }
        let named: Vec<String> = rule.interfaces().iter().map(|i| i.to_string()).collect();
        for name in named {
            let known = ifaces.iter().any(|i| match name.strip_suffix('+') {
                Some(prefix) => i.starts_with(prefix),
                None => *i == name,
            });
            if !known && rule.rename_interface(&name, &fallback) > 0 {
                mapped.push((name.clone(), fallback.to_string()));
                notes.push(format!(
                    "your rule on line {} names the interface {name:?}, which the lab's \
                     {host_name} does not have: it was applied to {fallback}, the \
                     {host_name}'s interface in the lab",
                    line.line
                ));
            }
        }
        rules.push((line.line, rule.clone()));
        steps.push(StepPlan::rule(spec.host, rule, line.line));
    }
    let lines: Vec<usize> = steps.iter().map(|s| s.line).collect();
    let applied;
    if plan.rules.is_empty() {
        // The student's rules go where the reference's first rule step was.
        let at = plan
            .steps
            .iter()
            .position(|s| matches!(s.action, Action::Iptables(_)))
            .unwrap_or(0);
        plan.steps
            .retain(|s| !matches!(s.action, Action::Iptables(_)));
        let at = at.min(plan.steps.len());
        applied = lines
            .iter()
            .enumerate()
            .map(|(i, &l)| (l, at + i))
            .collect();
        plan.steps.splice(at..at, steps);
    } else {
        plan.steps
            .retain(|s| !matches!(s.action, Action::Iptables(_)));
        plan.rules = steps
            .into_iter()
            .map(|s| match s.action {
                Action::Iptables(rule) => crate::scenario::RulePlan { host: s.host, rule },
                _ => unreachable!("only rules were pushed"),
            })
            .collect();
        applied = lines.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    }
    mapped.dedup();
    StudentPlan {
        plan,
        applied,
        notes,
        mapped,
        refused,
        rules,
    }
}

/// Grades the submission in `dir`: runs the lab with the student's rules (artifacts under
/// `out`), analyses both captures and scores every check. Runs inside the sandbox.
pub async fn grade(rubric: &Rubric, dir: &Path, out: &Path) -> Result<Grade, RunError> {
    Ok(graded(rubric, dir, Some(out), false).await?.grade)
}

/// Grades the submission in `dir` on a host where the lab cannot run (`cause` says why):
/// every check that needs no lab is scored, the lab's are marked not run. Needs no privilege.
pub fn grade_without_lab(rubric: &Rubric, dir: &Path, cause: String) -> Result<Grade, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::msg(format!("cannot start the runtime: {e}")))?;
    let mut grade = runtime
        .block_on(graded(rubric, dir, None, false))
        .map_err(GradeError::LabNotRun)?
        .grade;
    grade.lab_not_run = Some(cause);
    Ok(grade)
}

/// A grade with what it was given from: the lab run and the submission, for the HTML page.
pub struct Graded {
    pub grade: Grade,
    /// The lab run; `None` when the lab could not run on this host, or did not need to.
    pub lab: Option<LabSeen>,
    pub submission: Submission,
}

/// [`grade`], keeping the lab run and the submission. With no `out`, the lab does not run and
/// its checks are marked not run. With `out`, it runs when a check needs it or when `page` (the
/// HTML page, which draws the lab's run) asks for it.
pub async fn graded(
    rubric: &Rubric,
    dir: &Path,
    out: Option<&Path>,
    page: bool,
) -> Result<Graded, RunError> {
    let mut submission = Submission::read(dir, rubric.capture_max_bytes);
    let (commands, commands_problem) = match &submission.commands {
        Ok(bytes) => (Commands::read(bytes), None),
        Err(p) => (
            Commands::default(),
            rubric
                .reads_commands()
                .then(|| format!("commands.sh {}", p.describe())),
        ),
    };
    let student = student_plan(rubric, &commands);
    let mut notes = Vec::new();
    if let Some(p) = &commands_problem {
        notes.push(p.clone());
    }
    if !commands.not_utf8.is_empty() {
        notes.push(format!(
            "commands.sh has bytes that are not UTF-8 on line {}: read with replacement \
             characters",
            commands
                .not_utf8
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if commands.ignored > 0 {
        notes.push(format!(
            "commands.sh: {} commands past the first 1000 were not read",
            commands.ignored
        ));
    }
    notes.extend(student.notes.iter().cloned());
    for other in &submission.other_captures {
        notes.push(format!(
            "{} was not graded: only one capture is, the first by name",
            submission::shown(other)
        ));
    }

    // A lab's reference solution may come without a capture: the lab's own capture of the
    // run with the reference rules stands for it.
    let is_reference =
        std::fs::canonicalize(dir).ok() == std::fs::canonicalize(rubric.dir.join("reference")).ok();
    let stand_in = is_reference && matches!(submission.capture, Err((None, _)));
    let report = match out {
        Some(out) if page || rubric.runs_lab() || stand_in => {
            Some(run::execute(&student.plan, out).await?)
        }
        _ => None,
    };
    let mut refused = student.refused.clone();
    for &(line, index) in &student.applied {
        if let Some(step) = report.as_ref().and_then(|r| r.steps.get(index))
            && step.outcome != StepOutcome::Ok
        {
            refused.push((
                line,
                format!(
                    "iptables refused your rule on line {line} ({})",
                    step.detail
                ),
            ));
        }
    }
    notes.extend(refused.iter().map(|(_, r)| r.clone()));
    let applied = student.applied.len() + student.refused.len() - refused.len();
    let mut names = Names::new();
    for (addr, host) in student.plan.addresses() {
        names.insert(addr, host);
    }
    if stand_in && let Some(first) = report.as_ref().and_then(|r| r.captures.first()) {
        submission.use_capture(&first.file.path, rubric.capture_max_bytes);
        notes.push("the lab's own capture of this run was graded as the capture".into());
    }
    let lab = report.map(|report| LabSeen::new(report, names));
    let capture = CaptureSeen::read(&mut submission, rubric.reads_attacks());
    let answers = match &submission.answers {
        None => Err("no answers.toml in your submission".to_string()),
        Some(Err(p)) => Err(format!("answers.toml {}", p.describe())),
        Some(Ok(bytes)) => match std::str::from_utf8(bytes) {
            Err(_) => Err("answers.toml is not UTF-8 text".to_string()),
            Ok(text) => answers::read(text).map_err(|e| {
                format!(
                    "answers.toml is not valid TOML ({})",
                    e.to_string().lines().next().unwrap_or("")
                )
            }),
        },
    };
    // The candidate's own problems explain the lab best; other lines' after them.
    let candidate_line = rubric
        .rules
        .as_ref()
        .and_then(|s| score::candidate(&commands, s))
        .map(|(l, _)| l.line);
    refused.sort_by_key(|(line, _)| Some(*line) != candidate_line);
    let ev = Evidence {
        rubric,
        commands: &commands,
        commands_problem,
        // The rules iptables accepted in the lab, for judging what they mean.
        rules: student
            .rules
            .iter()
            .filter(|(line, _)| !refused.iter().any(|(l, _)| l == line))
            .cloned()
            .collect(),
        rule_problems: refused.into_iter().map(|(_, r)| r).collect(),
        applied,
        lab: lab.as_ref(),
        capture: &capture,
        answers,
    };
    let checks: Vec<CheckGrade> = rubric
        .checks
        .iter()
        .map(|check| {
            let needs_lab = matches!(
                check.kind,
                rubric::Kind::LabFile { .. } | rubric::Kind::LabConversation { .. }
            );
            if needs_lab && lab.is_none() {
                return CheckGrade {
                    name: check.name.clone(),
                    points: 0,
                    max: check.points,
                    passed: false,
                    ran: false,
                    feedback: NOT_RUN.into(),
                    hint: None,
                };
            }
            let (passed, why) = score::score(check, &ev);
            CheckGrade {
                name: check.name.clone(),
                points: if passed { check.points } else { 0 },
                max: check.points,
                passed,
                ran: true,
                feedback: match &why {
                    // A rule that matched only once its interface was renamed says so.
                    None if passed
                        && matches!(check.kind, rubric::Kind::RuleMatch { .. })
                        && !student.mapped.is_empty() =>
                    {
                        let names: Vec<String> = student
                            .mapped
                            .iter()
                            .map(|(from, to)| format!("{from} read as the lab's {to}"))
                            .collect();
                        format!("{} ({})", check.pass, names.join(", "))
                    }
                    None if passed => check.pass.clone(),
                    Some(w) => w.clone(),
                    None => check.fail.clone(),
                },
                hint: why.filter(|_| !passed).map(|_| check.fail.clone()),
            }
        })
        .collect();
    let grade = Grade {
        lab: rubric.lab.clone(),
        submission: dir.display().to_string(),
        score: checks.iter().map(|c| c.points).sum(),
        max: rubric.max(),
        checks,
        notes,
        lab_not_run: None,
    };
    Ok(Graded {
        grade,
        lab,
        submission,
    })
}

/// `labctl grade`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct GradeArgs {
    /// A lab with a rubric under labs/ (e.g. homework-redirect)
    pub lab: String,
    /// Submission directories (commands.sh, a .pcap or .pcapng, answers.toml)
    pub dirs: Vec<PathBuf>,
    /// Grade the lab's own reference solution (labs/LAB/reference)
    #[arg(long)]
    pub reference: bool,
    /// What to print on standard output (gradescope and prairielearn: one submission)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print the grade as JSON (the same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Also write the grade as JUnit XML
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write one row per submission, sorted by directory name (grades each in its own child
    /// process)
    #[arg(long, value_name = "FILE")]
    pub gradebook: Option<PathBuf>,
    /// The gradebook's format: labctl's CSV, a Canvas gradebook import (needs --roster) or a
    /// Moodle grade import
    #[arg(long, value_enum, default_value_t = gradebook::BookFormat::Csv)]
    pub gradebook_format: gradebook::BookFormat,
    /// The Canvas roster (the gradebook exported from Canvas): submission directories are
    /// matched to its SIS Login ID column
    #[arg(long, value_name = "CSV")]
    pub roster: Option<PathBuf>,
    /// Grade only shard I of N (0-based) of the submissions sorted by directory name, or
    /// `auto` to read the shard from Slurm, Kubernetes, GitLab or GNU parallel; needs --results
    #[arg(long, value_name = "I/N|auto", requires = "results")]
    pub shard: Option<String>,
    /// With --shard: write DIR/grades.shard-I-of-N.jsonl, one line per submission, for
    /// `labctl merge-grades`
    #[arg(long, value_name = "DIR", requires = "shard")]
    pub results: Option<PathBuf>,
    /// Submissions graded in parallel
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub jobs: usize,
    /// Keep the lab run's artifacts in this directory
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the grade as an HTML page (each check's feedback beside its evidence, the
    /// lab run, the packet ladders) to FILE; one submission only
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

impl GradeArgs {
    /// The output format, `--json` being `--format json`.
    pub fn output(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// Runs `labctl grade`: one submission in the sandbox, or a batch through child processes
/// ([`batch`]). One submission is [`Verdict::Passed`] with full marks and [`Verdict::Failed`]
/// with points lost or a lab that could not run on this host; a batch is [`Verdict::Passed`]
/// when every submission was graded, whatever its score, and [`Verdict::Ungraded`] when one
/// could not be. A bad command line, roster or lab is an [`Error`], before anything runs.
pub fn main(args: &GradeArgs) -> Result<Verdict, Error> {
    let rubric = rubric::load(&args.lab)?;
    let mut dirs = args.dirs.clone();
    if args.reference {
        dirs.insert(0, rubric.dir.join("reference"));
    }
    if dirs.is_empty() {
        return Err(Error::msg(
            "grade needs a submission directory, or --reference",
        ));
    }
    if let Some(d) = dirs.iter().find(|d| !d.is_dir()) {
        return Err(Error::msg(format!("{}: not a directory", d.display())));
    }
    let batch = dirs.len() > 1 || args.gradebook.is_some() || args.shard.is_some();
    if args.html.is_some() && batch {
        return Err(Error::msg(
            "--html draws one submission: grade them one at a time for a page each",
        ));
    }
    if batch {
        return batch::run(args, &rubric, &dirs);
    }
    run::preflight(&rubric.plan)?;
    let started = Instant::now();
    // Where the host refuses the sandbox, everything that needs no lab is still graded.
    if let Err(refusal) = sandbox::probe() {
        eprintln!("labctl: {refusal}");
        if args.html.is_some() {
            eprintln!("labctl: no HTML page: it draws the lab run");
        }
        let grade = grade_without_lab(&rubric, &dirs[0], refusal.to_string())?;
        return emit(args, &grade, started.elapsed());
    }
    // Without --out the artifacts are only a means to the grade, and go once it is given.
    let keep = args.out.is_some();
    let out = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("labctl-grade-{}", std::process::id()))
    });
    sandbox::run_lab(&out, async |out| {
        // The page is drawn before the artifacts go: it reads the lab's captures.
        let result = match &args.html {
            None => grade(&rubric, &dirs[0], &out).await.map(|g| (g, None)),
            Some(_) => graded(&rubric, &dirs[0], Some(&out), true)
                .await
                .map(|g| (g.grade.clone(), html::page(&rubric, &g))),
        };
        if !keep {
            let _ = std::fs::remove_dir_all(&out);
        }
        let (grade, page) = result.map_err(GradeError::LabNotRun)?;
        if let (Some(path), Some(page)) = (&args.html, page) {
            crate::report::html::write_page(path, &page)?;
        }
        emit(args, &grade, started.elapsed())
    })
}

/// Writes the JUnit file and prints the grade in the chosen format; full marks pass, anything
/// else (points lost, a lab that did not run) fails.
fn emit(args: &GradeArgs, grade: &Grade, took: std::time::Duration) -> Result<Verdict, Error> {
    if let Some(path) = &args.junit {
        std::fs::write(path, render::junit(grade, took))
            .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
    }
    let json = |v: &serde_json::Value| {
        println!("{}", serde_json::to_string_pretty(v).expect("JSON values"));
    };
    match args.output() {
        Format::Text => {
            use std::io::IsTerminal;
            print!("{}", render::text(grade, std::io::stdout().is_terminal()));
        }
        Format::Json => json(&serde_json::to_value(grade).expect("a grade serialises")),
        Format::Gradescope => json(&formats::gradescope(grade, took)),
        Format::Prairielearn => json(&formats::prairielearn(grade)),
    }
    Ok(if grade.score == grade.max && grade.lab_not_run.is_none() {
        Verdict::Passed
    } else {
        Verdict::Failed
    })
}
