//! Steps and expectations: each `[[steps]]` table must name exactly one action, which is
//! resolved against the hosts and services; each `[[expect]]` table becomes a typed check.
//!
//! Contract: a step or expectation with two actions, none, or a key that does not go with its
//! action is refused at the key's span.

use super::*;

pub(super) fn parse_step(
    cx: &Ctx,
    step: &Spanned<RawStep>,
    hosts: &[HostPlan],
    resolve_host: &ResolveHost,
    first_addr: &dyn Fn(HostId) -> Option<Cidr>,
) -> Result<StepPlan, ScenarioError> {
    let span = step.span();
    let line = cx.line(&span);
    let raw = step.get_ref();
    let actions = [
        raw.telnet.is_some(),
        raw.iptables.is_some(),
        raw.exec.is_some(),
        raw.wait.is_some(),
    ];
    let hint = "a step has exactly one of: telnet = \"HOST:PORT\", iptables = \"RULE\", exec = [\"PROGRAM\", ...], wait = \"DURATION\", ftp, smtp, http, dns, udp, traceroute, route, link, host_gone, announce, sysctl, listening";
    if actions.iter().filter(|a| **a).count() + protocol::clients(raw) + net::action_count(raw) != 1
    {
        return Err(cx
            .err(
                span.start..span.start + 1,
                "a step needs exactly one action",
            )
            .with_hint(hint));
    }
    let host = match (&raw.host, raw.wait.is_some()) {
        (Some(h), _) => resolve_host(h, cx.inner(h))?,
        (None, true) => 0,
        (None, false) => {
            return Err(cx
                .err(span.start..span.start + 1, "this step needs a host")
                .with_hint("host = \"NAME\": the host the step runs in"));
        }
    };
    let timeout = raw
        .timeout
        .as_ref()
        .map(|t| parse_duration(cx, t))
        .transpose()?;
    let not_for = |field: &str, action: &str| {
        cx.err(
            span.start..span.start + 1,
            format!("{field} does not go with {action}"),
        )
    };
    let (action, default_outcome) =
        if let Some(step) = protocol::step(cx, raw, &span, hosts, first_addr, timeout)? {
            let outcome = step.default_outcome();
            (Action::Protocol(step), outcome)
        } else if let Some(net) = net::step(cx, raw, span.clone(), hosts, first_addr, timeout)? {
            net
        } else if let Some(target) = &raw.telnet {
            let (syns, timeout) = net::syns(cx, raw, timeout, DEFAULT_CONNECT_TIMEOUT)?;
            (
                Action::Telnet {
                    target: parse_target(cx, target, hosts, first_addr)?,
                    send: raw.send.clone().unwrap_or_default(),
                    expect_reply: raw.expect_reply.clone(),
                    syns,
                    timeout,
                },
                StepOutcome::Connected,
            )
        } else {
            if raw.send.is_some() && raw.exec.is_none() {
                return Err(not_for("send", "this action")
                    .with_hint("send goes with telnet, udp and exec (its standard input)"));
            }
            if raw.expect_reply.is_some() {
                return Err(not_for("expect_reply", "this action")
                    .with_hint("expect_reply goes with telnet"));
            }
            if let Some(rule) = &raw.iptables {
                (Action::Iptables(parse_iptables(cx, rule)?), StepOutcome::Ok)
            } else if let Some(argv) = &raw.exec {
                if argv.get_ref().is_empty() || argv.get_ref()[0].is_empty() {
                    return Err(cx
                        .err(argv.span(), "exec needs a program")
                        .with_hint("exec = [\"curl\", \"-s\", \"http://server/\"]"));
                }
                (
                    Action::Exec {
                        argv: argv.get_ref().clone(),
                        timeout: timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT),
                        stdin: net::payload(cx, raw)?,
                        hold_stdin: raw.hold_stdin.unwrap_or(false),
                        signal: net::signal(cx, raw)?,
                    },
                    StepOutcome::Ok,
                )
            } else {
                let wait = raw.wait.as_ref().expect("one action is set");
                (Action::Wait(parse_duration(cx, wait)?), StepOutcome::Ok)
            }
        };
    if let (Some(signal), false) = (&raw.signal, matches!(action, Action::Exec { .. })) {
        return Err(cx
            .err(signal.span(), "signal does not go with this action")
            .with_hint("signal = \"INT\" goes with exec: Ctrl-C once the input is sent"));
    }
    if let (Some(syns), false) = (&raw.syns, matches!(action, Action::Telnet { .. })) {
        return Err(cx
            .err(syns.span(), "syns does not go with this action")
            .with_hint("syns = N goes with telnet: the step ends as the N-th SYN leaves"));
    }
    let expect = match &raw.outcome {
        None => default_outcome,
        Some(o) => {
            let allowed: Vec<(&str, StepOutcome)> = match action {
                Action::Telnet { .. } | Action::Net(NetAction::Udp { .. }) => {
                    StepOutcome::CLIENT.to_vec()
                }
                Action::Protocol(ref p) => p.outcomes(),
                _ => vec![("ok", StepOutcome::Ok), ("failed", StepOutcome::Failed)],
            };
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
        host,
        action,
        expect,
        line,
    })
}

pub(super) fn one_of(
    cx: &Ctx,
    s: &Spanned<String>,
    allowed: &[&str],
    what: &str,
) -> Result<String, ScenarioError> {
    if allowed.contains(&s.get_ref().as_str()) {
        Ok(s.get_ref().clone())
    } else {
        Err(cx
            .err(cx.inner(s), format!("unknown {what} {:?}", s.get_ref()))
            .with_hint(format!("{what} is one of: {}", allowed.join(", "))))
    }
}

pub(super) fn parse_expect(
    cx: &Ctx,
    expect: &Spanned<RawExpect>,
    resolve_host: &ResolveHost,
) -> Result<Expect, ScenarioError> {
    let span = expect.span();
    let line = cx.line(&span);
    let raw = expect.get_ref();
    let here = span.start..span.start + 1;
    if let Some(query) = &raw.dns {
        return protocol::dns_expect(cx, raw, query, line);
    }
    if let Some((what, text)) = net::expect(cx, raw, here.clone(), resolve_host)? {
        return Ok(Expect::Net { what, text, line });
    }
    match (&raw.file, &raw.conversation) {
        (Some(file), None) => {
            let inner = cx.inner(file);
            let Some((host, path)) = file.get_ref().split_once(':') else {
                return Err(cx.err(inner, format!("bad file {:?}", file.get_ref()))
                    .with_hint("file = \"HOST:PATH\", e.g. \"server:dump.txt\""));
            };
            let host_span = inner.start..inner.start + host.len();
            let host = resolve_host(&Spanned::new(host_span.clone(), host.to_string()), host_span)?;
            let path_start = inner.start + file.get_ref().find(':').unwrap_or(0) + 1;
            check_relative_file(cx, &Spanned::new(path_start - 1..path_start + path.len() + 1, path.to_string()))?;
            let check = match (&raw.equals, &raw.contains) {
                (Some(e), None) => FileCheck::Equals(e.clone()),
                (None, Some(c)) => FileCheck::Contains(c.clone()),
                _ => {
                    return Err(cx.err(here, "a file expectation needs exactly one of equals, contains"));
                }
            };
            if raw.handshake.is_some() || raw.outcome.is_some() || raw.client_sent.is_some() || raw.server_sent.is_some()
                || raw.client_sent_contains.is_some() || raw.server_sent_contains.is_some() {
                return Err(cx.err(here, "handshake, outcome, client_sent and server_sent go with conversation"));
            }
            Ok(Expect::File { host, path: path.to_string(), check, line })
        }
        (None, Some(conv)) => {
            let inner = cx.inner(conv);
            let text = conv.get_ref();
            let hint = "conversation = \"CLIENT > SERVER:PORT\", e.g. \"client > server:21\"";
            let Some((client, rest)) = text.split_once('>') else {
                return Err(cx.err(inner, format!("bad conversation {text:?}")).with_hint(hint));
            };
            let Some((server, port)) = rest.trim().rsplit_once(':') else {
                return Err(cx.err(inner, format!("bad conversation {text:?}")).with_hint(hint));
            };
            let client_name = client.trim();
            let client_start = inner.start + text.find(client_name).unwrap_or(0);
            let client_span = client_start..client_start + client_name.len();
            let client = resolve_host(&Spanned::new(client_span.clone(), client_name.to_string()), client_span)?;
            let server_name = server.trim();
            let server_start = inner.start + text.rfind(server_name).unwrap_or(0);
            let server_span = server_start..server_start + server_name.len();
            let server = resolve_host(&Spanned::new(server_span.clone(), server_name.to_string()), server_span)?;
            let port_start = inner.start + text.len() - port.len();
            let port_value: i64 = port.parse().map_err(|_| {
                cx.err(port_start..port_start + port.len().max(1), format!("bad port {port:?}")).with_hint(hint)
            })?;
            let port = check_port(cx, &Spanned::new(port_start..port_start + port.len(), port_value))?;
            if raw.equals.is_some() || raw.contains.is_some() {
                return Err(cx.err(here, "equals and contains go with file"));
            }
            Ok(Expect::Conversation {
                what: ConversationExpect {
                    client,
                    server,
                    port,
                    handshake: raw.handshake.as_ref().map(|h| one_of(cx, h, HANDSHAKES, "handshake")).transpose()?,
                    outcome: raw
                        .outcome
                        .as_ref()
                        .map(|o| one_of(cx, o, CONVERSATION_OUTCOMES, "outcome"))
                        .transpose()?,
                    client_sent: raw.client_sent.clone(),
                    server_sent: raw.server_sent.clone(),
                    client_sent_contains: raw.client_sent_contains.clone(),
                    server_sent_contains: raw.server_sent_contains.clone(),
                },
                text: text.clone(),
                line,
            })
        }
        _ => Err(cx.err(here, "an expectation needs exactly one of file, conversation, dns")
            .with_hint("file = \"server:dump.txt\" with equals/contains, or conversation = \"client > server:21\"")),
    }
}
