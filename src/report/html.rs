//! The HTML report: one self-contained page per run (`report.html`, `labctl run --html`), per
//! capture (`labctl show --html`), per graded submission (`labctl grade --html`), and an index
//! for `labctl test --html`.
//!
//! Contract: a page is one file with its CSS and pictures inline (SVG, no script, no font, no
//! URL to fetch), readable offline and printable. Every text that comes from outside labctl
//! (payloads, names, rules, feedback) goes through [`markup`] once, after the bytes were
//! made printable by [`crate::text::escape`], so nothing in a capture can open a tag or steer a
//! terminal. Colour is never the only signal: a verdict has its word, a mark its shape and word,
//! a conversation its number.
//!
//! Invariants: a page is a pure function of its inputs apart from times, which are all inside
//! elements of class `t` (so a test can mask them), and the labctl version, inside class
//! `version`.

use std::fmt::Write;
use std::path::Path;

use super::Report;
use super::ladder::{self, Ladder, Pick};
use super::topology;
use crate::analyze::{Dir, Names, ShowArgs};
use crate::check::snapshot::Comparison;
use crate::text::{escape_lines, human_duration, markup};
use crate::verdict::{Error, Verdict};

const CSS: &str = include_str!("report.css");

/// A page being written: its title and body.
struct Page {
    title: String,
    body: String,
}

impl Page {
    fn new(title: &str) -> Page {
        Page {
            title: title.to_string(),
            body: String::new(),
        }
    }

    /// The header: what the page is about, the verdict in words, labctl's version.
    fn header(&mut self, subtitle: &str, verdict: &str, passed: bool) {
        let _ = writeln!(
            self.body,
            "<header><h1>{}</h1><p class=\"sub\">{}</p><p class=\"verdict {}\">{}</p>\
             <p class=\"sub\">labctl <span class=\"version\">{}</span></p></header>",
            markup(&self.title),
            markup(subtitle),
            if passed { "pass" } else { "fail" },
            markup(verdict),
            env!("CARGO_PKG_VERSION")
        );
    }

    fn finish(self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
            markup(&self.title),
            self.body
        )
    }
}

/// A duration, in the element tests mask.
fn time(d: std::time::Duration) -> String {
    format!("<span class=\"t\">{}</span>", markup(&human_duration(d)))
}

fn ok_word(passed: bool) -> &'static str {
    if passed {
        "<span class=\"ok\">ok</span>"
    } else {
        "<span class=\"bad\">FAIL</span>"
    }
}

/// The page of one run: header, topology, steps, checks, then each capture's ladder.
pub fn run_page(report: &Report) -> String {
    let mut page = Page::new(&format!("labctl run {}", report.scenario));
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    let verdict = if report.passed {
        format!("PASSED ({} checks)", report.checks.len())
    } else {
        format!("FAILED ({failed} of {} checks)", report.checks.len())
    };
    page.header(&report.summary, &verdict, report.passed);
    let _ = writeln!(
        page.body,
        "<p class=\"sub\">from {}; took {}; artifacts in {}</p>",
        markup(&report.origin),
        time(report.took),
        markup(&report.out.display().to_string())
    );
    page.body.push_str(&lab_sections(report, &[]));
    page.finish()
}

/// Topology, steps, checks and captures of a run; `extra` ladders (a student's capture) are
/// drawn after the run's own.
fn lab_sections(report: &Report, extra: &[(String, String, &Ladder)]) -> String {
    let mut s = String::new();
    s.push_str("<section><h2>Topology</h2>\n<div class=\"scroll\">");
    s.push_str(&topology::svg(&report.topology));
    s.push_str("</div>\n");
    for note in &report.topology.redirects {
        let _ = writeln!(s, "<p class=\"note\">REDIRECT on {}</p>", markup(note));
    }
    s.push_str("</section>\n");
    s.push_str(&steps(report));
    s.push_str(&checks(report));
    for (i, capture) in report.captures.iter().enumerate() {
        let ladder = Ladder::from_analysis(&capture.file.path, &capture.analysis, &report.names);
        let title = format!(
            "Capture {}:{} ({} packets)",
            capture.file.host, capture.file.iface, capture.file.packets
        );
        s.push_str(&capture_section(&title, &ladder, &format!("cap{i}")));
    }
    for (title, prefix, ladder) in extra {
        s.push_str(&capture_section(title, ladder, prefix));
    }
    s
}

fn steps(report: &Report) -> String {
    let mut s = String::from(
        "<section><h2>Steps</h2>\n<table class=\"steps\"><thead><tr><th></th><th>#</th>\
         <th>host</th><th>step</th><th>outcome</th><th>expected</th><th>took</th>\
         <th>detail</th></tr></thead><tbody>\n",
    );
    for (i, step) in report.steps.iter().enumerate() {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            ok_word(step.passed()),
            i + 1,
            markup(&step.host),
            markup(&step.title),
            markup(step.outcome.as_str()),
            markup(step.expected.as_str()),
            time(step.took),
            markup(&step.detail)
        );
        let transcript: Vec<String> = step
            .transcript
            .iter()
            .cloned()
            .chain(step.streams())
            .map(|l| markup(&l))
            .collect();
        if !transcript.is_empty() {
            let _ = writeln!(
                s,
                "<tr class=\"transcript\"><td></td><td colspan=\"7\"><pre>{}</pre></td></tr>",
                transcript.join("\n")
            );
        }
    }
    s.push_str("</tbody></table></section>\n");
    s
}

fn checks(report: &Report) -> String {
    let mut s = String::from("<section><h2>Checks</h2>\n<ul class=\"checks\">\n");
    for check in &report.checks {
        let _ = write!(s, "<li>{} {}", ok_word(check.passed), markup(&check.name));
        if !check.detail.is_empty() {
            let _ = write!(s, "<div class=\"detail\">{}</div>", markup(&check.detail));
        }
        s.push_str("</li>\n");
    }
    s.push_str("</ul>\n");
    if let Comparison::Differs { diff } = &report.snapshot {
        s.push_str("<h3>Flow snapshot differs (- expected, + this run)</h3>\n<pre class=\"diff\">");
        for line in diff.lines() {
            let class = match line.chars().next() {
                Some('-') => "del",
                Some('+') => "add",
                _ => "same",
            };
            let _ = writeln!(s, "<span class=\"{class}\">{}</span>", markup(line));
        }
        s.push_str("</pre>\n");
    }
    s.push_str("</section>\n");
    s
}

/// One capture: its ladder, its conversations with their colours, and each followed stream.
fn capture_section(title: &str, ladder: &Ladder, prefix: &str) -> String {
    let mut s = format!(
        "<section class=\"capture\" id=\"{prefix}\"><h2>{}</h2>\n",
        markup(title)
    );
    if let Some(problem) = &ladder.problem {
        let _ = writeln!(
            s,
            "<p class=\"note\">reading stopped after frame {}: {}</p>",
            ladder.frames,
            markup(problem)
        );
    }
    if ladder.other > 0 {
        let _ = writeln!(
            s,
            "<p class=\"note\">{} frames are neither IP nor ARP and are not drawn</p>",
            ladder.other
        );
    }
    s.push_str(
        "<p class=\"legend\"><svg width=\"18\" height=\"14\"><polygon points=\"9,1 1,13 17,13\" \
         class=\"mark-syn\"/></svg> no answer (a SYN nothing answered) \
         <svg width=\"18\" height=\"16\"><circle cx=\"8\" cy=\"8\" r=\"7\" class=\"mark-rst\"/>\
         <path d=\"M4 4 l8 8 M12 4 l-8 8\" class=\"mark-x\"/></svg> reset \
         <svg width=\"18\" height=\"18\"><polygon points=\"9,1 17,9 9,17 1,9\" \
         class=\"mark-icmp\"/></svg> ICMP error</p>\n<div class=\"scroll\">",
    );
    s.push_str(&ladder::svg(ladder, prefix));
    s.push_str("</div>\n");
    if !ladder.conversations.is_empty() {
        s.push_str(
            "<table class=\"convs\"><thead><tr><th>#</th><th>protocol</th><th>from</th>\
             <th>to</th><th>outcome</th><th>packets</th></tr></thead><tbody>\n",
        );
        for c in &ladder.conversations {
            let _ = writeln!(
                s,
                "<tr data-conv=\"{}\" data-packets=\"{}\"><td><span class=\"swatch\" \
                 style=\"background:{}\"></span> #{0}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{1}</td></tr>",
                c.index + 1,
                c.frames.len(),
                ladder::colour(Some(c.index)),
                c.proto,
                markup(&c.initiator),
                markup(&c.responder),
                markup(&c.outcome)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    for c in ladder.conversations.iter().filter(|c| !c.stream.is_empty()) {
        let total: usize = c.stream.iter().map(|(_, d)| d.len()).sum();
        let _ = writeln!(
            s,
            "<details open class=\"stream\"><summary>#{} {} {} → {}: followed stream, {} \
             bytes</summary>",
            c.index + 1,
            c.proto,
            markup(&c.initiator),
            markup(&c.responder),
            total as u64 + c.stream_cut
        );
        for (dir, bytes) in &c.stream {
            let (from, to, class) = match dir {
                Dir::Forward => (&c.initiator, &c.responder, "fwd"),
                Dir::Reverse => (&c.responder, &c.initiator, "rev"),
            };
            let _ = writeln!(
                s,
                "<div class=\"chunk {class}\"><div class=\"who\">{} → {}, {} bytes</div>\
                 <pre>{}</pre></div>",
                markup(from),
                markup(to),
                bytes.len(),
                markup(&escape_lines(bytes))
            );
        }
        if c.stream_cut > 0 {
            let _ = writeln!(
                s,
                "<p class=\"note\">{} more bytes not shown</p>",
                c.stream_cut
            );
        }
        s.push_str("</details>\n");
    }
    s.push_str("</section>\n");
    s
}

/// The page of one capture file, as `labctl show FILE --html` writes it.
pub fn show_page(file: &Path, names: &Names) -> String {
    show_ladder_page(file, &Ladder::from_path(file, names))
}

fn show_ladder_page(file: &Path, ladder: &Ladder) -> String {
    let shown = file.display().to_string();
    let mut page = Page::new(&format!("labctl show {shown}"));
    let verdict = format!(
        "{} frames, {} conversations",
        ladder.frames,
        ladder.conversations.len()
    );
    page.header(
        "the packets of one capture file",
        &verdict,
        ladder.problem.is_none(),
    );
    page.body.push_str(&capture_section(
        &format!("Capture {shown}"),
        ladder,
        "cap0",
    ));
    page.finish()
}

/// `labctl show FILE`, and with `--html PAGE` the page too (drawn here rather than in `analyze`,
/// which sits below the report). The page is written first, so a file that cannot be read is
/// then reported by the view as usual. A file that does not read to its end gets no page: the
/// view reports it, exit 2, and nothing is left behind.
pub fn show_main(args: &ShowArgs) -> Result<Verdict, Error> {
    if let Some(path) = &args.html {
        let ladder = Ladder::from_path(&args.file, &args.names);
        if ladder.problem.is_none() {
            write_page(path, &show_ladder_page(&args.file, &ladder))?;
        }
    }
    crate::analyze::show::main(args)
}

/// Writes a page, naming the file when that fails.
pub fn write_page(path: &Path, page: &str) -> Result<(), Error> {
    std::fs::write(path, page).map_err(|e| Error::msg(format!("{}: {e}", path.display())))
}

/// Where a grading check's evidence is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The lab run's captures.
    Lab,
    /// The student's own capture.
    Student,
}

/// One graded check as the page shows it.
#[derive(Clone, Debug)]
pub struct GradedCheck {
    pub name: String,
    pub points: u32,
    pub max: u32,
    pub passed: bool,
    pub feedback: String,
    pub hint: Option<String>,
    /// The conversations the check looked at, when it looked at packets.
    pub evidence: Option<(Source, Pick)>,
}

/// A graded submission as the page shows it.
pub struct GradeView<'a> {
    pub lab: String,
    pub submission: String,
    pub score: u32,
    pub max: u32,
    pub checks: Vec<GradedCheck>,
    pub notes: Vec<String>,
    /// The lab run with the student's rules.
    pub report: &'a Report,
    /// The student's capture: its file name and ladder.
    pub student: Option<(String, Ladder)>,
}

/// How many of a check's evidence frames are listed beside its feedback.
const EVIDENCE_FRAMES: usize = 12;

/// The page of one graded submission: the score, each check's feedback beside the frames it
/// looked at (linked to their arrows), then the lab run and the student's capture.
pub fn grade_page(view: &GradeView) -> String {
    let mut page = Page::new(&format!("labctl grade {}", view.lab));
    let verdict = format!("{} / {} points", view.score, view.max);
    page.header(&view.submission, &verdict, view.score == view.max);
    if !view.notes.is_empty() {
        page.body.push_str("<section><h2>Notes</h2><ul>\n");
        for note in &view.notes {
            let _ = writeln!(page.body, "<li>{}</li>", markup(note));
        }
        page.body.push_str("</ul></section>\n");
    }
    let lab: Vec<(String, Ladder)> = view
        .report
        .captures
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                format!("cap{i}"),
                Ladder::from_analysis(&c.file.path, &c.analysis, &view.report.names),
            )
        })
        .collect();
    page.body.push_str("<section><h2>Checks</h2>\n");
    for check in &view.checks {
        let _ = write!(
            page.body,
            "<div class=\"graded\"><div class=\"feedback\"><p>{} <b>{}</b> \
             <span class=\"points\">{} / {}</span></p><p>{}</p>",
            ok_word(check.passed),
            markup(&check.name),
            check.points,
            check.max,
            markup(&check.feedback)
        );
        if let Some(hint) = &check.hint {
            let _ = write!(page.body, "<p class=\"detail\">{}</p>", markup(hint));
        }
        page.body.push_str("</div>");
        if let Some((source, pick)) = check.evidence {
            let ladders: Vec<(&str, &Ladder)> = match source {
                Source::Lab => lab.iter().map(|(p, l)| (p.as_str(), l)).collect(),
                Source::Student => view.student.iter().map(|(_, l)| ("student", l)).collect(),
            };
            page.body.push_str(&evidence(&ladders, pick, source));
        }
        page.body.push_str("</div>\n");
    }
    page.body.push_str("</section>\n");
    let student: Vec<(String, String, &Ladder)> = view
        .student
        .iter()
        .map(|(name, l)| (format!("Your capture {name}"), "student".to_string(), l))
        .collect();
    page.body
        .push_str("<h2 class=\"part\">The lab, run with your rules</h2>\n");
    page.body.push_str(&lab_sections(view.report, &student));
    page.finish()
}

/// The frames a check looked at, each linked to its arrow in the ladder.
fn evidence(ladders: &[(&str, &Ladder)], pick: Pick, source: Source) -> String {
    let whose = match source {
        Source::Lab => "the lab's capture",
        Source::Student => "your capture",
    };
    let what = match pick {
        Pick::Port(p) => format!("conversations to port {p} in {whose}"),
        Pick::Dns => format!("DNS in {whose}"),
        Pick::FtpData => format!("FTP data connections in {whose}"),
    };
    let mut s = format!(
        "<div class=\"evidence\"><p class=\"sub\">evidence: {}</p>",
        markup(&what)
    );
    let mut any = false;
    for (prefix, ladder) in ladders {
        let (arrows, total) = ladder.evidence(pick, EVIDENCE_FRAMES);
        if arrows.is_empty() {
            continue;
        }
        any = true;
        s.push_str("<ol class=\"frames\">");
        for a in &arrows {
            let _ = write!(
                s,
                "<li><a href=\"#{prefix}-f{}\">frame {0}</a> <span class=\"swatch\" \
                 style=\"background:{}\"></span> #{} {} {} → {}{}</li>",
                a.frame,
                ladder::colour(a.conv),
                a.conv.map_or(0, |c| c + 1),
                markup(&a.label),
                markup(&ladder.columns[a.from]),
                markup(&ladder.columns[a.to]),
                a.mark.map_or(String::new(), |m| format!(" ({})", m.word()))
            );
        }
        s.push_str("</ol>");
        if total > arrows.len() {
            let _ = write!(
                s,
                "<p class=\"sub\">and {} more frames</p>",
                total - arrows.len()
            );
        }
    }
    if !any {
        s.push_str("<p class=\"sub\">no such frames</p>");
    }
    s.push_str("</div>");
    s
}

/// One scenario's line in `labctl test --html`'s index.
pub struct IndexRow {
    pub scenario: String,
    /// `passed`, `failed` or `error`.
    pub status: String,
    pub failures: Vec<String>,
    /// The scenario's page, relative to the index; none when the run made no report.
    pub page: Option<String>,
    pub took: std::time::Duration,
}

/// `labctl test --html`'s index: one line per scenario, linking its page.
pub fn index_page(rows: &[IndexRow], took: std::time::Duration) -> String {
    let passed = rows.iter().filter(|r| r.status == "passed").count();
    let mut page = Page::new("labctl test");
    let verdict = format!("{passed} of {} scenarios passed", rows.len());
    page.header(
        "every scenario run and compared with its snapshot",
        &verdict,
        passed == rows.len(),
    );
    let _ = write!(
        page.body,
        "<p class=\"sub\">took {}</p>\n<table class=\"index\"><thead><tr><th>status</th>\
         <th>scenario</th><th>took</th><th>what failed</th></tr></thead><tbody>\n",
        time(took)
    );
    for row in rows {
        let name = match &row.page {
            Some(href) => format!("<a href=\"{}\">{}</a>", markup(href), markup(&row.scenario)),
            None => markup(&row.scenario),
        };
        let class = if row.status == "passed" { "ok" } else { "bad" };
        let _ = writeln!(
            page.body,
            "<tr><td><span class=\"{class}\">{}</span></td><td>{name}</td><td>{}</td><td>{}</td></tr>",
            markup(&row.status),
            time(row.took),
            row.failures
                .iter()
                .map(|f| markup(f))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    page.body.push_str("</tbody></table>\n");
    page.finish()
}
