//! `ping = "HOST"` (or an address, IPv4 or IPv6): the built-in ping, with `count`, `size`,
//! `ttl`, `interval`, `timeout` (each echo's wait) and `expect_reply` (text the answer lines
//! must contain). Every value is checked here, against the bounds `ping` itself has.

use std::time::Duration;

use toml::Spanned;

use super::{Input, Parsed, StepKind};
use crate::scenario::parse::{Ctx, net, parse_duration};
use crate::scenario::{Action, PingPlan, ScenarioError, StepOutcome};

pub(in crate::scenario::parse) const KIND: StepKind = StepKind {
    key: "ping",
    usage: "ping = \"HOST\"",
    takes: &["count", "size", "ttl", "interval", "expect_reply"],
    hostless: false,
    parse,
};

/// As traceroute's wait per probe (see `drive::net`): over three times the slowest answer seen
/// under `cargo xtask stress`; costs time only on an echo that gets no answer.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);
/// `ping`'s default data size.
const DEFAULT_SIZE: i64 = 56;
/// The largest echo data that fits an IPv4 datagram (65535 - 20 - 8).
const MAX_SIZE: i64 = 65_507;

fn parse(input: &Input) -> Result<Parsed, ScenarioError> {
    let (cx, raw) = (input.cx, input.raw);
    let dest = raw.ping.as_ref().expect("the kind's key is set");
    let text = dest.get_ref().trim().to_string();
    let addr = net::resolve_dest(cx, dest, &text, input.resolver)?;
    let count = bounded(
        cx,
        &raw.count,
        "count",
        3,
        1..=100,
        "how many echo requests, 1 to 100",
    )?;
    let size = bounded(
        cx,
        &raw.size,
        "size",
        DEFAULT_SIZE,
        0..=MAX_SIZE,
        "data bytes after the ICMP header, as ping -s: 0 to 65507",
    )?;
    let ttl = match &raw.ttl {
        None => None,
        Some(_) => Some(bounded(
            cx,
            &raw.ttl,
            "ttl",
            64,
            1..=255,
            "the TTL (hop limit), 1 to 255",
        )?),
    };
    let interval = match &raw.interval {
        None => Duration::ZERO,
        Some(i) => parse_duration(cx, i)?,
    };
    let plan = PingPlan {
        dest: addr,
        text: text.clone(),
        count: count as u16,
        size: size as usize,
        ttl: ttl.map(|t| t as u8),
        interval,
        wait: input.timeout.unwrap_or(DEFAULT_WAIT),
        // The step's line: fixed for the scenario, and distinct for two pings of one run.
        id: u16::try_from(cx.line(&input.span)).unwrap_or(u16::MAX),
        expect: raw.expect_reply.clone(),
    };
    let mut title = format!("ping {text}");
    if count != 3 {
        title.push_str(&format!(" count {count}"));
    }
    if size != DEFAULT_SIZE {
        title.push_str(&format!(" size {size}"));
    }
    if let Some(t) = ttl {
        title.push_str(&format!(" ttl {t}"));
    }
    Ok(Parsed {
        title,
        action: Action::Ping(plan),
        default: StepOutcome::Connected,
        outcomes: StepOutcome::CLIENT.to_vec(),
        programs: Vec::new(),
    })
}

/// An integer key within `range`, or `default` when not given.
fn bounded(
    cx: &Ctx,
    value: &Option<Spanned<i64>>,
    key: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    hint: &str,
) -> Result<i64, ScenarioError> {
    match value {
        None => Ok(default),
        Some(v) if range.contains(v.get_ref()) => Ok(*v.get_ref()),
        Some(v) => Err(cx
            .err(v.span(), format!("{key} {} is out of range", v.get_ref()))
            .with_hint(hint.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::testing::{TWO_HOSTS, file};
    use crate::scenario::{Action, NetAction, Plan, ScenarioError};

    fn plan(step: &str) -> Result<Plan, ScenarioError> {
        file(&format!(
            "{TWO_HOSTS}[[steps]]\nhost = \"client\"\n{step}\n"
        ))
    }

    #[test]
    fn ping_reads_its_keys_and_defaults() {
        let p =
            plan("ping = \"server\"\ncount = 2\nsize = 1000\nttl = 1\ntimeout = \"1s\"").unwrap();
        let Action::Ping(ping) = &p.steps[0].action else {
            panic!("{:?}", p.steps[0].action)
        };
        assert_eq!(ping.dest.to_string(), "10.0.0.2");
        assert_eq!((ping.count, ping.size, ping.ttl), (2, 1000, Some(1)));
        assert_eq!(ping.wait, std::time::Duration::from_secs(1));
        assert_eq!(ping.id, 6, "the line of the step's table");
        assert_eq!(p.steps[0].title, "ping server count 2 size 1000 ttl 1");
        let p = plan("ping = \"10.0.0.2\"").unwrap();
        let Action::Ping(ping) = &p.steps[0].action else {
            panic!()
        };
        assert_eq!((ping.count, ping.size, ping.ttl), (3, 56, None));
    }

    #[test]
    fn ping_values_out_of_range_are_refused_at_their_place() {
        let e = plan("ping = \"server\"\nttl = 0").unwrap_err();
        assert_eq!(e.msg, "ttl 0 is out of range");
        assert_eq!(
            (e.line, e.hint.as_deref()),
            (9, Some("the TTL (hop limit), 1 to 255"))
        );
        let e = plan("ping = \"server\"\ncount = 1000").unwrap_err();
        assert_eq!(e.msg, "count 1000 is out of range");
        let e = plan("ping = \"sevrer\"").unwrap_err();
        assert!(e.msg.contains("sevrer"), "{e}");
        let e = plan("ping = \"server\"\nmax_hops = 3").unwrap_err();
        assert_eq!(e.msg, "max_hops does not go with this action");
    }

    #[test]
    fn traceroute_takes_a_mode_and_queries() {
        let p = plan("traceroute = \"server\"\nmode = \"icmp\"\nqueries = 3").unwrap();
        assert!(matches!(
            p.steps[0].action,
            Action::Net(NetAction::Traceroute {
                icmp: true,
                queries: 3,
                ..
            })
        ));
        assert_eq!(p.steps[0].title, "traceroute -I server");
        let e = plan("traceroute = \"server\"\nmode = \"tcp\"").unwrap_err();
        assert_eq!(e.msg, "unknown traceroute mode \"tcp\"");
        let e = plan("traceroute = \"server\"\nqueries = 0").unwrap_err();
        assert_eq!(e.msg, "queries 0 is out of range");
    }
}
