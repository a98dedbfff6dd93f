//! The step registry: every kind of `[[steps]]` table, one row of [`STEP_KINDS`] each.
//!
//! A row names the key that selects the kind (`wait`, `telnet`, ...), how it is written (for
//! the hint of a step without exactly one action), the other keys the kind takes, and the
//! function that reads and validates it into a [`Parsed`] step: the action, its default and
//! allowed outcomes, its title and the programs preflight must find. The "exactly one action"
//! count, its hint and the "X does not go with this action" errors are computed from the table,
//! so adding a step kind is one file here, one row below, its keys in `raw::RawStep`, its
//! `Action` variant, and its row in `drive::DRIVE_KINDS` (whose unit test fails without it).
//! ARCHITECTURE.md, "Step registry", says why drive is not in the file and shows an example.
//!
//! Contract: [`parse_step`] returns a [`StepPlan`] or the first problem at its place in the
//! file; a key that belongs to no kind was already refused by serde.

mod craft;
mod dhcp;
mod exec;
mod iptables;
mod link;
mod listening;
mod ping;
mod telnet;
mod wait;

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::{Ctx, RawStep, Resolver, net, parse_duration, protocol};
use crate::scenario::{Action, ScenarioError, StepOutcome, StepPlan};

/// Keys every step takes, whatever its kind.
const COMMON: &[&str] = &["host", "timeout", "outcome"];

/// One kind of step. See the module documentation.
pub(super) struct StepKind {
    /// The key that selects this kind.
    pub(super) key: &'static str,
    /// How the action is written, in the hint of a step without exactly one action.
    pub(super) usage: &'static str,
    /// The keys it takes besides its own and [`COMMON`].
    pub(super) takes: &'static [&'static str],
    /// Whether the step may leave out `host` (it then runs in the first host).
    pub(super) hostless: bool,
    pub(super) parse: fn(&Input) -> Result<Parsed, ScenarioError>,
}

impl StepKind {
    /// A kind written as its bare key in hints, which needs a host: the rows of a family of
    /// kinds read by one function (the protocol clients, the network steps).
    pub(super) const fn plain(
        key: &'static str,
        takes: &'static [&'static str],
        parse: fn(&Input) -> Result<Parsed, ScenarioError>,
    ) -> StepKind {
        StepKind {
            key,
            usage: key,
            takes,
            hostless: false,
            parse,
        }
    }
}

/// Every step kind, in the order the hint lists them.
pub(super) const STEP_KINDS: &[StepKind] = &[
    telnet::KIND,
    iptables::KIND,
    exec::KIND,
    wait::KIND,
    protocol::FTP,
    protocol::SMTP,
    protocol::HTTP,
    protocol::DNS,
    net::UDP,
    net::TRACEROUTE,
    net::ROUTE,
    link::KIND,
    net::HOST_GONE,
    net::ANNOUNCE,
    net::SYSCTL,
    listening::KIND,
    craft::KIND,
    ping::KIND,
    dhcp::KIND,
];

/// The key of every step kind, in table order (what the drive side's unit test holds its own
/// table against).
#[cfg(test)]
pub(crate) fn step_kinds() -> impl Iterator<Item = &'static str> {
    STEP_KINDS.iter().map(|k| k.key)
}

/// What a kind's parser is given: the step as written, resolved against the scenario.
pub(super) struct Input<'a> {
    pub(super) cx: &'a Ctx<'a>,
    pub(super) raw: &'a RawStep,
    /// The whole step's span.
    pub(super) span: Range<usize>,
    pub(super) resolver: &'a Resolver<'a>,
    /// The name of the host the step runs in.
    pub(super) host_name: &'a str,
    /// `timeout`, when the step gives one.
    pub(super) timeout: Option<Duration>,
}

/// A step as its kind reads it.
pub(super) struct Parsed {
    pub(super) action: Action,
    /// The outcome expected when the scenario gives none.
    pub(super) default: StepOutcome,
    /// The outcomes a scenario may expect of this step.
    pub(super) outcomes: Vec<(&'static str, StepOutcome)>,
    pub(super) title: String,
    /// Programs that must be installed before the run starts.
    pub(super) programs: Vec<String>,
}

/// `ok` and `failed`: the outcomes of a step that is a command rather than a client.
pub(super) fn command_outcomes() -> Vec<(&'static str, StepOutcome)> {
    vec![("ok", StepOutcome::Ok), ("failed", StepOutcome::Failed)]
}

/// The kinds that take `key`, as "a, b and c".
fn kinds_taking(key: &str) -> String {
    super::kinds_taking(STEP_KINDS.iter().map(|k| (k.key, k.takes)), key)
}

pub(in crate::scenario::parse) fn parse_step(
    cx: &Ctx,
    step: &Spanned<RawStep>,
    given: &[String],
    resolver: &Resolver,
) -> Result<StepPlan, ScenarioError> {
    let span = step.span();
    let here = span.start..span.start + 1;
    let line = cx.line(&span);
    let raw = step.get_ref();
    let selected: Vec<&StepKind> = STEP_KINDS
        .iter()
        .filter(|k| given.iter().any(|g| g == k.key))
        .collect();
    let [kind] = selected.as_slice() else {
        let usages: Vec<&str> = STEP_KINDS.iter().map(|k| k.usage).collect();
        return Err(cx
            .err(here, "a step needs exactly one action")
            .with_hint(format!("a step has exactly one of: {}", usages.join(", "))));
    };
    if let Some(stray) = given.iter().find(|g| {
        !COMMON.contains(&g.as_str()) && *g != kind.key && !kind.takes.contains(&g.as_str())
    }) {
        return Err(cx
            .err(here, format!("{stray} does not go with this action"))
            .with_hint(format!("{stray} goes with {}", kinds_taking(stray))));
    }
    let host = match (&raw.host, kind.hostless) {
        (Some(h), _) => resolver.host_value(h)?,
        // A step without `host` runs in the first host, which a scenario may lack.
        (None, true) if !resolver.hosts().is_empty() => 0,
        (None, _) => {
            return Err(cx
                .err(here, "this step needs a host")
                .with_hint("host = \"NAME\": the host the step runs in"));
        }
    };
    let timeout = raw
        .timeout
        .as_ref()
        .map(|t| parse_duration(cx, t))
        .transpose()?;
    let input = Input {
        cx,
        raw,
        span: span.clone(),
        resolver,
        host_name: resolver.name(host),
        timeout,
    };
    let parsed = (kind.parse)(&input)?;
    let expect = match &raw.outcome {
        None => parsed.default,
        Some(o) => {
            let allowed = &parsed.outcomes;
            allowed
                .iter()
                .find(|(n, _)| n == o.get_ref())
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    cx.err(
                        cx.inner(o),
                        format!("unknown outcome {:?} for this step", o.get_ref()),
                    )
                    .with_hint(format!(
                        "outcomes are: {}",
                        allowed
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?
        }
    };
    Ok(StepPlan {
        kind: kind.key,
        host,
        action: parsed.action,
        expect,
        line,
        title: parsed.title,
        programs: parsed.programs,
    })
}

#[cfg(test)]
mod tests {
    use super::STEP_KINDS;
    use crate::scenario::testing::{TWO_HOSTS, file, refused};
    use crate::scenario::{Action, NetAction, ScenarioError};

    fn err(step: &str) -> ScenarioError {
        refused(&format!(
            "{TWO_HOSTS}[[steps]]\nhost = \"client\"\n{step}\n"
        ))
    }

    #[test]
    fn the_action_count_and_stray_keys_come_from_the_table() {
        let e = err("wait = \"1s\"\nsysctl = \"net.ipv4.ip_forward=1\"");
        assert_eq!(e.msg, "a step needs exactly one action");
        assert_eq!(
            e.hint.as_deref(),
            Some(
                "a step has exactly one of: telnet = \"HOST:PORT\", iptables = \"RULE\", \
                 exec = [\"PROGRAM\", ...], wait = \"DURATION\", ftp, smtp, http, dns, udp, \
                 traceroute, route, link, host_gone, announce, sysctl, listening, \
                 craft = \"bogus-ip-version > HOST\", ping = \"HOST\", dhcp = \"IFACE\""
            )
        );
        let e = err("wait = \"1s\"\nsend = \"x\"");
        assert_eq!(e.msg, "send does not go with this action");
        assert_eq!(
            e.hint.as_deref(),
            Some("send goes with telnet, exec and udp")
        );
        let e = err("link = \"eth0 down\"\nquery = \"example.test\"");
        assert_eq!(e.hint.as_deref(), Some("query goes with dns"));
    }

    #[test]
    fn signal_and_listening_are_read_by_their_rows() {
        let e = err("wait = \"1s\"\nsignal = \"INT\"");
        assert_eq!(e.msg, "signal does not go with this action");
        assert_eq!(e.hint.as_deref(), Some("signal goes with exec"));
        let e = err("exec = [\"nc\"]\nsignal = \"CTRL\"");
        assert_eq!(e.msg, "unknown signal \"CTRL\"", "{e}");
        let e = err("listening = \"udp:53\"");
        assert_eq!(e.msg, "bad listening \"udp:53\"", "{e}");
        let e = err("listening = \"tcp:1234\"\noutcome = \"refused\"");
        assert_eq!(e.hint.as_deref(), Some("outcomes are: ok, failed"), "{e}");
        let text = "name = \"t\"\n[hosts.client]\n[[steps]]\nhost = \"client\"\n\
                    listening = \"tcp:1234\"\n[[steps]]\nhost = \"client\"\n\
                    exec = [\"nc\", \"-l\", \"-p\", \"1234\"]\nsignal = \"int\"\n";
        let plan = file(text).unwrap();
        assert_eq!(plan.steps[0].title, "listening tcp:1234");
        assert!(matches!(
            plan.steps[0].action,
            Action::Net(NetAction::Listening { port: 1234 })
        ));
        assert!(matches!(
            plan.steps[1].action,
            Action::Exec {
                signal: Some(nix::sys::signal::Signal::SIGINT),
                ..
            }
        ));
        assert_eq!(plan.steps[1].programs, ["nc"]);
    }

    /// Found by the scenario fuzz target: a hostless step in a scenario with no host at all.
    #[test]
    fn a_hostless_step_without_any_host_is_an_error() {
        let e = refused("name = \"t\"\n[[steps]]\nwait = \"1s\"\n");
        assert_eq!(e.msg, "this step needs a host");
    }

    #[test]
    fn every_kind_has_its_own_key() {
        let rows: Vec<_> = STEP_KINDS.iter().map(|k| (k.key, k.usage)).collect();
        crate::scenario::testing::assert_keys_unique(&rows);
    }
}
