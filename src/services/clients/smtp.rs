//! SMTP client: the smtp-by-hand dialogue, one message per session.
//!
//! `HELO` (or `EHLO`), `MAIL FROM:<..>`, one `RCPT TO:<..>` per recipient, `DATA`, the message
//! with leading dots doubled (RFC 5321 4.5.2) and the lone `.`, then `QUIT`. Each reply code is
//! checked against the one the protocol requires at that point.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use super::{Connect, Dialogue, Report, SessionOutcome, converse};

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailScript {
    /// The `HELO`/`EHLO` argument.
    pub helo: String,
    /// `EHLO` instead of `HELO`.
    pub ehlo: bool,
    pub from: String,
    pub to: Vec<String>,
    /// The message: headers, blank line, body; `\n` or `\r\n` line ends.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpReport {
    #[serde(flatten)]
    pub report: Report,
    /// The text of the `250` reply that accepted the message (it names the queue id).
    pub accepted: Option<String>,
}

/// The message as sent after `DATA`: CRLF line ends, leading dots doubled, ending `.`.
pub fn stuff(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 8);
    let body = message.strip_suffix('\n').unwrap_or(message);
    let body = body.strip_suffix('\r').unwrap_or(body);
    if !body.is_empty() {
        for line in body.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('.') {
                out.push(b'.');
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Sends one message to `server`.
pub async fn run(
    connect: &Connect,
    server: SocketAddr,
    script: &MailScript,
    timeout: Duration,
) -> SmtpReport {
    let mut out = SmtpReport {
        report: Report {
            transcript: Vec::new(),
            outcome: SessionOutcome::Completed,
        },
        accepted: None,
    };
    out.report = converse(connect, server, timeout, async |d| {
        session(d, script, &mut out).await
    })
    .await;
    out
}

async fn session(
    d: &mut Dialogue,
    script: &MailScript,
    out: &mut SmtpReport,
) -> Result<(), SessionOutcome> {
    d.expect("greeting", &[220]).await?;
    let verb = if script.ehlo { "EHLO" } else { "HELO" };
    d.command(&format!("{verb} {}", script.helo), &[250])
        .await?;
    d.command(&format!("MAIL FROM:<{}>", script.from), &[250])
        .await?;
    for rcpt in &script.to {
        d.command(&format!("RCPT TO:<{rcpt}>"), &[250, 251]).await?;
    }
    d.command("DATA", &[354]).await?;
    d.send_raw(&stuff(&script.message)).await?;
    let accepted = d.expect("end of message", &[250]).await?;
    out.accepted = Some(accepted.text());
    d.command("QUIT", &[221]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_and_line_ends() {
        assert_eq!(
            stuff("Subject: x\n\n.hidden\nend\n"),
            b"Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\n"
        );
        assert_eq!(stuff("a\r\nb"), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff(""), b".\r\n");
        assert_eq!(stuff("."), b"..\r\n.\r\n");
    }
}
