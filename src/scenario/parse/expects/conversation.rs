//! `conversation = "CLIENT > SERVER:PORT"`: a TCP conversation on the wire, its handshake,
//! outcome and the bytes each side sent.

use super::{ExpectInput, ExpectKind, one_of};
use crate::scenario::parse::{CONVERSATION_OUTCOMES, HANDSHAKES, port_at};
use crate::scenario::{ConversationExpect, Expect, ScenarioError};

pub(in crate::scenario::parse) const KIND: ExpectKind = ExpectKind {
    key: "conversation",
    usage: "conversation = \"CLIENT > SERVER:PORT\"",
    example: "conversation = \"client > server:21\"\nhandshake = \"complete\"",
    takes: &[
        "handshake",
        "outcome",
        "client_sent",
        "server_sent",
        "client_sent_contains",
        "server_sent_contains",
    ],
    parse,
};

fn parse(input: &ExpectInput) -> Result<Expect, ScenarioError> {
    let (cx, raw, resolver) = (input.cx, input.raw, input.resolver);
    let conv = raw.conversation.as_ref().expect("the kind's key is set");
    let inner = cx.inner(conv);
    let text = conv.get_ref();
    let hint = "conversation = \"CLIENT > SERVER:PORT\", e.g. \"client > server:21\"";
    let Some((client, rest)) = text.split_once('>') else {
        return Err(cx.bad(conv, "conversation", hint));
    };
    let Some((server, port)) = rest.trim().rsplit_once(':') else {
        return Err(cx.bad(conv, "conversation", hint));
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
    let port = port_at(cx, port, port_start, hint)?;
    Ok(Expect::Conversation {
        what: ConversationExpect {
            client,
            server,
            port,
            handshake: raw
                .handshake
                .as_ref()
                .map(|h| one_of(cx, h, HANDSHAKES, "handshake"))
                .transpose()?,
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
        line: input.line,
    })
}
