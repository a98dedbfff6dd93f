//! Expectations: each `[[expect]]` table becomes a typed check (steps are read by the step
//! registry, `steps/`).
//!
//! Contract: an expectation of two kinds, none, or a key that does not go with its kind is
//! refused at the expectation's span.

use super::*;

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
    resolver: &Resolver,
) -> Result<Expect, ScenarioError> {
    let span = expect.span();
    let line = cx.line(&span);
    let raw = expect.get_ref();
    let here = span.start..span.start + 1;
    if let Some(query) = &raw.dns {
        return protocol::dns_expect(cx, raw, query, line);
    }
    if let Some((what, text)) = net::expect(cx, raw, here.clone(), resolver)? {
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
            let host = resolver.host(host, host_span)?;
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
            let client = resolver.host(client_name, client_span)?;
            let server_name = server.trim();
            let server_start = inner.start + text.rfind(server_name).unwrap_or(0);
            let server_span = server_start..server_start + server_name.len();
            let server = resolver.host(server_name, server_span)?;
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
