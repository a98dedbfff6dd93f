//! `exec = ["PROGRAM", ...]`: a real program run inside the host from an argument vector,
//! with `send` (padded to `size`) on its standard input, held open with `hold_stdin`, and
//! `signal` sent once that input is read and the host's connections are quiet.

use super::{Input, Parsed, StepKind, command_outcomes};
use crate::scenario::parse::{Ctx, DEFAULT_EXEC_TIMEOUT, RawStep, net};
use crate::scenario::{Action, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "exec",
    usage: "exec = [\"PROGRAM\", ...]",
    takes: &["send", "size", "hold_stdin", "signal"],
    hostless: false,
    parse,
};

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let (cx, raw) = (input.cx, input.raw);
    let argv = raw.exec.as_ref().expect("the kind's key is set");
    if argv.get_ref().is_empty() || argv.get_ref()[0].is_empty() {
        return Err(cx
            .err(argv.span(), "exec needs a program")
            .with_hint("exec = [\"curl\", \"-s\", \"http://server/\"]"));
    }
    let argv = argv.get_ref().clone();
    Ok(Parsed {
        title: argv.join(" "),
        programs: vec![argv[0].clone()],
        action: Action::Exec {
            argv,
            timeout: input.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT),
            stdin: net::payload(cx, raw)?,
            hold_stdin: raw.hold_stdin.unwrap_or(false),
            signal: signal(cx, raw)?,
        },
        default: StepOutcome::Ok,
        outcomes: command_outcomes(),
    })
}

/// `signal = "INT"` (or `"SIGINT"`) of an exec step.
fn signal(cx: &Ctx, raw: &RawStep) -> Result<Option<nix::sys::signal::Signal>, ScenarioError> {
    let Some(name) = &raw.signal else {
        return Ok(None);
    };
    let upper = name.get_ref().trim().to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse().map(Some).map_err(|_| {
        cx.err(
            cx.inner(name),
            format!("unknown signal {:?}", name.get_ref()),
        )
        .with_hint("signal = \"INT\" (Ctrl-C), \"TERM\", \"HUP\", \"QUIT\" or \"KILL\"")
    })
}
