//! Built-in protocol clients for scenario steps: FTP (passive), SMTP, HTTP GET and DNS query.
//!
//! Contract: a client never creates a socket by name itself. TCP clients take a [`Connect`]
//! function, which the caller implements so that the socket is created inside the client
//! host's network namespace (FTP needs it twice: control, then the data port it computed);
//! the DNS client over UDP takes an already-bound socket. Each client returns a [`Report`]:
//! the transcript (every line sent and received, in order, plus notes for connections opened)
//! and an [`SessionOutcome`] that says what a person at the keyboard would have seen: completed,
//! connection refused, timed out, no route to host, or an unexpected reply.
//!
//! Invariants: a client never panics on what a server sends; every wait is bounded by the
//! timeout it is given; transcripts hold no timestamps, so they are stable across runs.

pub mod dns;
pub mod ftp;
pub mod http;
pub mod smtp;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::conn::{Line, LineReader};

/// Opens a TCP connection from the client's host (inside its network namespace).
pub type Connect =
    Arc<dyn Fn(SocketAddr) -> BoxFuture<'static, io::Result<TcpStream>> + Send + Sync>;

/// A [`Connect`] for the current network namespace.
pub fn direct_connect() -> Connect {
    Arc::new(|addr| Box::pin(TcpStream::connect(addr)))
}

/// Which way a transcript line went, or a note about the session itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Sent,
    Received,
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranscriptLine {
    pub direction: Direction,
    /// The line without its line ending; non-UTF-8 bytes replaced.
    pub text: String,
}

impl fmt::Display for TranscriptLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrow = match self.direction {
            Direction::Sent => "->",
            Direction::Received => "<-",
            Direction::Note => "==",
        };
        if self.text.is_empty() {
            // An empty line (the end of HTTP headers) shows as the bare arrow.
            write!(f, "{arrow}")
        } else {
            write!(f, "{arrow} {}", self.text)
        }
    }
}

/// How a client session ended, as a person would describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SessionOutcome {
    /// Every step got the reply it expected.
    Completed,
    /// The server answered the connection attempt with a reset (`Connection refused`).
    Refused { addr: SocketAddr },
    /// No answer within the timeout (a DROP rule, a host gone).
    TimedOut { waiting_for: String },
    /// `No route to host` / `Network is unreachable` (an ICMP error, a REJECT rule).
    Unreachable { addr: SocketAddr },
    /// The server closed or reset the connection in the middle of the session.
    Closed { waiting_for: String },
    /// A reply other than the one the protocol step needs.
    Unexpected {
        step: String,
        expected: String,
        got: String,
    },
    /// Any other I/O failure.
    Failed { message: String },
}

impl SessionOutcome {
    pub fn is_completed(&self) -> bool {
        matches!(self, SessionOutcome::Completed)
    }

    /// The outcome of a failed connection attempt.
    pub fn of_connect_error(addr: SocketAddr, error: &io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => SessionOutcome::Refused { addr },
            io::ErrorKind::TimedOut => SessionOutcome::TimedOut {
                waiting_for: format!("connection to {addr}"),
            },
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                SessionOutcome::Unreachable { addr }
            }
            _ => SessionOutcome::Failed {
                message: format!("connect to {addr}: {error}"),
            },
        }
    }
}

impl fmt::Display for SessionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionOutcome::Completed => write!(f, "completed"),
            SessionOutcome::Refused { addr } => write!(f, "connect to {addr}: connection refused"),
            SessionOutcome::TimedOut { waiting_for } => {
                write!(f, "timed out waiting for {waiting_for}")
            }
            SessionOutcome::Unreachable { addr } => {
                write!(f, "connect to {addr}: no route to host")
            }
            SessionOutcome::Closed { waiting_for } => {
                write!(f, "connection closed while waiting for {waiting_for}")
            }
            SessionOutcome::Unexpected {
                step,
                expected,
                got,
            } => write!(f, "{step}: expected {expected}, got {got:?}"),
            SessionOutcome::Failed { message } => write!(f, "{message}"),
        }
    }
}

/// What a client step produced: its transcript and outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub transcript: Vec<TranscriptLine>,
    pub outcome: SessionOutcome,
}

impl Report {
    /// The transcript as text, one line each, arrows showing the direction.
    pub fn transcript_text(&self) -> String {
        self.transcript.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Connects with a deadline, turning failures into an [`SessionOutcome`].
pub(crate) async fn connect_with(
    connect: &Connect,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, SessionOutcome> {
    match tokio::time::timeout(timeout, connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(SessionOutcome::of_connect_error(addr, &e)),
        Err(_) => Err(SessionOutcome::TimedOut {
            waiting_for: format!("connection to {addr}"),
        }),
    }
}

/// Connects to `server` and runs `session` as a line dialogue there: the report carries the
/// whole transcript, and the outcome of the connection or of the session's first failure.
pub(crate) async fn converse(
    connect: &Connect,
    server: SocketAddr,
    timeout: Duration,
    session: impl AsyncFnOnce(&mut Dialogue) -> Result<(), SessionOutcome>,
) -> Report {
    let stream = match connect_with(connect, server, timeout).await {
        Ok(stream) => stream,
        Err(outcome) => {
            return Report {
                transcript: Vec::new(),
                outcome,
            };
        }
    };
    let mut dialogue = Dialogue::new(stream, timeout, Vec::new());
    dialogue.note(format!("connected to {server}"));
    let result = session(&mut dialogue).await;
    Report {
        transcript: dialogue.close().await,
        outcome: result.err().unwrap_or(SessionOutcome::Completed),
    }
}

/// A numbered reply of a line protocol (FTP, SMTP): its code and every line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodedReply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl CodedReply {
    /// The reply's lines joined, for error messages.
    pub fn text(&self) -> String {
        self.lines.join(" / ")
    }
}

/// A line dialogue over one TCP connection, recording everything in a transcript.
pub(crate) struct Dialogue {
    reader: LineReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    timeout: Duration,
    pub transcript: Vec<TranscriptLine>,
}

impl Dialogue {
    pub fn new(stream: TcpStream, timeout: Duration, transcript: Vec<TranscriptLine>) -> Self {
        let (r, w) = stream.into_split();
        Self {
            reader: LineReader::new(r),
            writer: w,
            timeout,
            transcript,
        }
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.transcript.push(TranscriptLine {
            direction: Direction::Note,
            text: text.into(),
        });
    }

    /// Sends one line with CRLF. Passwords are recorded as sent: in these labs they are part
    /// of what the capture shows in clear text.
    pub async fn send(&mut self, line: &str) -> Result<(), SessionOutcome> {
        self.transcript.push(TranscriptLine {
            direction: Direction::Sent,
            text: line.to_string(),
        });
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| SessionOutcome::Failed {
                message: format!("send {line:?}: {e}"),
            })
    }

    /// Sends raw bytes (a message body), recording each line.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), SessionOutcome> {
        let text = String::from_utf8_lossy(bytes);
        for line in text.strip_suffix("\r\n").unwrap_or(&text).split("\r\n") {
            self.transcript.push(TranscriptLine {
                direction: Direction::Sent,
                text: line.to_string(),
            });
        }
        self.writer
            .write_all(bytes)
            .await
            .map_err(|e| SessionOutcome::Failed {
                message: format!("send: {e}"),
            })
    }

    /// Reads one line, recording it.
    pub async fn line(&mut self, waiting_for: &str) -> Result<String, SessionOutcome> {
        let line = tokio::time::timeout(self.timeout, self.reader.next_line())
            .await
            .map_err(|_| SessionOutcome::TimedOut {
                waiting_for: waiting_for.to_string(),
            })?;
        let text = match line {
            Ok(Some(Line::Text(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Some(Line::TooLong)) => "(line too long)".to_string(),
            Ok(None) | Err(_) => {
                return Err(SessionOutcome::Closed {
                    waiting_for: waiting_for.to_string(),
                });
            }
        };
        self.transcript.push(TranscriptLine {
            direction: Direction::Received,
            text: text.clone(),
        });
        Ok(text)
    }

    /// Reads a whole numbered reply: `123 text`, or `123-first` ... `123 last`.
    pub async fn reply(&mut self, waiting_for: &str) -> Result<CodedReply, SessionOutcome> {
        let first = self.line(waiting_for).await?;
        let code = parse_code(&first).ok_or_else(|| SessionOutcome::Unexpected {
            step: waiting_for.to_string(),
            expected: "a numbered reply".to_string(),
            got: first.clone(),
        })?;
        let mut lines = vec![first.clone()];
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let next = self.line(waiting_for).await?;
                let done = next.starts_with(&end) || next == code.to_string();
                lines.push(next);
                if done {
                    break;
                }
            }
        }
        Ok(CodedReply { code, lines })
    }

    /// Reads a reply and checks its code is one of `expected`.
    pub async fn expect(
        &mut self,
        step: &str,
        expected: &[u16],
    ) -> Result<CodedReply, SessionOutcome> {
        let reply = self.reply(step).await?;
        if expected.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(SessionOutcome::Unexpected {
                step: step.to_string(),
                expected: expected
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
                got: reply.text(),
            })
        }
    }

    /// Sends a command and checks the reply's code.
    pub async fn command(
        &mut self,
        line: &str,
        expected: &[u16],
    ) -> Result<CodedReply, SessionOutcome> {
        self.send(line).await?;
        self.expect(line, expected).await
    }

    /// Shuts down the sending side, as a person quitting telnet does; replies still arrive.
    pub async fn half_close(&mut self) {
        let _ = self.writer.shutdown().await;
    }

    pub async fn close(mut self) -> Vec<TranscriptLine> {
        let _ = self.writer.shutdown().await;
        self.transcript
    }
}

fn parse_code(line: &str) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match line.as_bytes().get(3) {
        None | Some(b' ') | Some(b'-') => digits.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes() {
        assert_eq!(parse_code("220 ready"), Some(220));
        assert_eq!(parse_code("250-PIPELINING"), Some(250));
        assert_eq!(parse_code("221"), Some(221));
        assert_eq!(parse_code("22x ready"), None);
        assert_eq!(parse_code("2200 x"), None);
        assert_eq!(parse_code(""), None);
    }

    #[test]
    fn connect_errors_read_as_a_person_sees_them() {
        let addr: SocketAddr = "10.0.0.2:25".parse().unwrap();
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            SessionOutcome::of_connect_error(addr, &refused).to_string(),
            "connect to 10.0.0.2:25: connection refused"
        );
        let unreachable = io::Error::from_raw_os_error(113);
        assert_eq!(
            SessionOutcome::of_connect_error(addr, &unreachable).to_string(),
            "connect to 10.0.0.2:25: no route to host"
        );
        let timed_out = io::Error::from_raw_os_error(110);
        assert_eq!(
            SessionOutcome::of_connect_error(addr, &timed_out).to_string(),
            "timed out waiting for connection to 10.0.0.2:25"
        );
    }

    #[test]
    fn outcome_serialises_with_a_tag() {
        let json = serde_json::to_string(&SessionOutcome::Refused {
            addr: "10.0.0.2:25".parse().unwrap(),
        })
        .unwrap();
        assert_eq!(json, r#"{"outcome":"refused","addr":"10.0.0.2:25"}"#);
    }
}
