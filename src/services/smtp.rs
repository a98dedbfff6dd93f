//! SMTP server: the mail dialogue as a pure state machine, delivery into an mbox file in a thin
//! tokio shell.
//!
//! The dialogue is hand-written because it is the lesson: students type `HELO`, `MAIL FROM`,
//! `RCPT TO`, `DATA`, the message, the lone `.` and `QUIT` over telnet and read each reply code.
//! The codes and texts follow Postfix (with RFC 3463 enhanced status codes), so the lab shows
//! what a real mail server says: `220` banner, `250` for accepted commands, `354` to start the
//! message, `501` for syntax errors, `503` for commands out of sequence, `221` on `QUIT`.
//!
//! Contract:
//! - [`Session`] turns one line into a [`Response`]. When a message is complete it asks the
//!   shell to deliver an [`Envelope`] and gives the final reply from [`Session::delivered`].
//! - [`serve`] takes an already-bound listener. Messages are appended to
//!   [`SmtpConfig::mailbox`] in mboxrd format ([`mbox_entry`]), one whole entry per write,
//!   serialised across connections so entries never interleave. Queue ids count up from 1 per
//!   server, so a lab's transcript is the same on every run.
//!
//! - A connection idle for [`SmtpConfig::idle_timeout`] gets `421` and is closed.
//!
//! Invariants: the message body is stored as sent after dot-unstuffing, with its line ends
//! normalised to `\n` in the mbox; no peer input panics; a command line longer than
//! [`super::conn::MAX_LINE`] gets `500` and the session continues; an oversized message is
//! consumed to its end and refused with `552`, never buffered without bound.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use super::conn::{Line, LineReader, MONTHS, UtcTime, WEEKDAYS, accept_loop};
use super::serve::{ServeError, listen};

/// What an SMTP server accepts and where it stores it.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The name in the banner and the `EHLO` reply.
    pub hostname: String,
    /// The mbox file messages are appended to; created if missing.
    pub mailbox: PathBuf,
    /// The largest message accepted, in bytes.
    pub max_message: usize,
    pub max_recipients: usize,
    /// A connection silent this long gets `421` and is closed.
    pub idle_timeout: Duration,
}

impl SmtpConfig {
    pub fn new(hostname: impl Into<String>, mailbox: impl Into<PathBuf>) -> Self {
        Self {
            hostname: hostname.into(),
            mailbox: mailbox.into(),
            max_message: 10 << 20,
            max_recipients: 100,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// A complete message and its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The `HELO`/`EHLO` argument.
    pub helo: String,
    /// The reverse path without angle brackets; empty for the null sender `<>`.
    pub from: String,
    pub rcpts: Vec<String>,
    /// The message as received, dot-unstuffed, each line ending in `\r\n`.
    pub data: Vec<u8>,
}

/// What the shell does after writing a [`Response`]'s reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Continue,
    Close,
    /// Store the message, then send [`Session::delivered`]'s reply.
    Deliver(Envelope),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Complete reply lines, each ending in `\r\n`; empty while a message is being received.
    pub reply: String,
    pub then: Then,
}

impl Response {
    fn reply(text: &str) -> Self {
        Self {
            reply: format!("{text}\r\n"),
            then: Then::Continue,
        }
    }

    fn silent(then: Then) -> Self {
        Self {
            reply: String::new(),
            then,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataProblem {
    TooBig,
    LineTooLong,
}

#[derive(Debug)]
enum State {
    Command,
    /// Between `354` and the lone `.`.
    Data {
        problem: Option<DataProblem>,
    },
}

/// One SMTP connection's state.
#[derive(Debug)]
pub struct Session {
    config: Arc<SmtpConfig>,
    state: State,
    helo: Option<String>,
    from: Option<String>,
    rcpts: Vec<String>,
    data: Vec<u8>,
}

impl Session {
    pub fn new(config: Arc<SmtpConfig>) -> Self {
        Self {
            config,
            state: State::Command,
            helo: None,
            from: None,
            rcpts: Vec::new(),
            data: Vec::new(),
        }
    }

    pub fn greeting(&self) -> String {
        format!("220 {} ESMTP labctl\r\n", self.config.hostname)
    }

    fn reset_transaction(&mut self) {
        self.from = None;
        self.rcpts.clear();
        self.data = Vec::new();
    }

    /// Handles one line: a command, or a line of the message during `DATA`.
    pub fn handle(&mut self, line: &Line) -> Response {
        if let State::Data { problem } = &mut self.state {
            let bytes = match line {
                Line::TooLong => {
                    *problem = Some(DataProblem::LineTooLong);
                    return Response::silent(Then::Continue);
                }
                Line::Text(bytes) => bytes,
            };
            if bytes.as_slice() == b"." {
                let problem = *problem;
                self.state = State::Command;
                return self.end_of_data(problem);
            }
            // Dot-unstuffing (RFC 5321 4.5.2): a leading dot was doubled by the client.
            let content = bytes.strip_prefix(b".").unwrap_or(bytes);
            if problem.is_none() {
                if self.data.len() + content.len() + 2 > self.config.max_message {
                    *problem = Some(DataProblem::TooBig);
                    self.data = Vec::new();
                } else {
                    self.data.extend_from_slice(content);
                    self.data.extend_from_slice(b"\r\n");
                }
            }
            return Response::silent(Then::Continue);
        }
        let text = match line {
            Line::TooLong => return Response::reply("500 5.5.2 Error: line too long"),
            Line::Text(bytes) => String::from_utf8_lossy(bytes),
        };
        let text = text.trim_end();
        let (verb, arg) = match text.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
            None => (text.to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "" => Response::reply("500 5.5.2 Error: bad syntax"),
            "HELO" | "EHLO" => self.hello(&verb, arg),
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => self.data_command(arg),
            "RSET" if arg.is_empty() => {
                self.reset_transaction();
                Response::reply("250 2.0.0 Ok")
            }
            "RSET" => Response::reply("501 5.5.4 Syntax: RSET"),
            "NOOP" => Response::reply("250 2.0.0 Ok"),
            "VRFY" if arg.is_empty() => Response::reply("501 5.5.4 Syntax: VRFY address"),
            // Like most servers, confirm nothing about local users.
            "VRFY" => Response::reply(&format!("252 2.0.0 {}", strip_brackets(arg))),
            "HELP" => Response::reply(
                "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
            ),
            "QUIT" => Response {
                reply: "221 2.0.0 Bye\r\n".to_string(),
                then: Then::Close,
            },
            _ => Response::reply("502 5.5.2 Error: command not recognized"),
        }
    }

    fn hello(&mut self, verb: &str, arg: &str) -> Response {
        if arg.is_empty() {
            return Response::reply(&format!("501 5.5.4 Syntax: {verb} hostname"));
        }
        self.reset_transaction();
        self.helo = Some(arg.to_string());
        let host = &self.config.hostname;
        if verb == "HELO" {
            return Response::reply(&format!("250 {host}"));
        }
        Response {
            reply: format!(
                "250-{host}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-8BITMIME\r\n\
                 250 ENHANCEDSTATUSCODES\r\n",
                self.config.max_message
            ),
            then: Then::Continue,
        }
    }

    fn mail(&mut self, arg: &str) -> Response {
        if self.helo.is_none() {
            return Response::reply("503 5.5.1 Error: send HELO/EHLO first");
        }
        if self.from.is_some() {
            return Response::reply("503 5.5.1 Error: nested MAIL command");
        }
        let Some((address, params)) = parse_path(arg, "FROM:") else {
            return Response::reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        for param in params.split_ascii_whitespace() {
            if let Some(size) = param.to_ascii_uppercase().strip_prefix("SIZE=") {
                match size.parse::<usize>() {
                    Ok(n) if n > self.config.max_message => {
                        return Response::reply("552 5.3.4 Message size exceeds fixed limit");
                    }
                    Ok(_) => {}
                    Err(_) => return Response::reply("501 5.5.4 Bad SIZE parameter"),
                }
            }
        }
        self.from = Some(address);
        Response::reply("250 2.1.0 Ok")
    }

    fn rcpt(&mut self, arg: &str) -> Response {
        if self.from.is_none() {
            return Response::reply("503 5.5.1 Error: need MAIL command");
        }
        let Some((address, _)) = parse_path(arg, "TO:").filter(|(a, _)| !a.is_empty()) else {
            return Response::reply("501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if self.rcpts.len() >= self.config.max_recipients {
            return Response::reply("452 4.5.3 Error: too many recipients");
        }
        self.rcpts.push(address);
        Response::reply("250 2.1.5 Ok")
    }

    fn data_command(&mut self, arg: &str) -> Response {
        if !arg.is_empty() {
            return Response::reply("501 5.5.4 Syntax: DATA");
        }
        if self.from.is_none() {
            return Response::reply("503 5.5.1 Error: need MAIL command");
        }
        if self.rcpts.is_empty() {
            return Response::reply("503 5.5.1 Error: need RCPT command");
        }
        self.state = State::Data { problem: None };
        Response::reply("354 End data with <CR><LF>.<CR><LF>")
    }

    fn end_of_data(&mut self, problem: Option<DataProblem>) -> Response {
        let response = match problem {
            Some(DataProblem::TooBig) => Response::reply("552 5.3.4 Error: message file too big"),
            Some(DataProblem::LineTooLong) => {
                Response::reply("500 5.5.2 Error: message line too long")
            }
            None => Response::silent(Then::Deliver(Envelope {
                helo: self.helo.clone().unwrap_or_default(),
                from: self.from.clone().unwrap_or_default(),
                rcpts: self.rcpts.clone(),
                data: std::mem::take(&mut self.data),
            })),
        };
        self.reset_transaction();
        response
    }

    /// The reply once the shell has tried to store the message under `queue_id`.
    pub fn delivered(&mut self, result: io::Result<&str>) -> String {
        match result {
            Ok(id) => format!("250 2.0.0 Ok: queued as {id}\r\n"),
            Err(_) => "451 4.3.0 Error: queue file write error\r\n".to_string(),
        }
    }
}

/// Parses `FROM:<addr> params` or `TO:<addr> params` (keyword case-insensitive, spaces allowed
/// after the colon). A bare address without brackets is accepted, as people type it by hand.
fn parse_path(arg: &str, keyword: &str) -> Option<(String, String)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let (address, params) = if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        (&inner[..end], inner[end + 1..].trim())
    } else {
        match rest.split_once(' ') {
            Some((addr, params)) => (addr, params.trim()),
            None => (rest, ""),
        }
    };
    if address.contains(['<', '>', ' ']) || (address.is_empty() && !rest.starts_with('<')) {
        return None;
    }
    if !address.is_empty() && !valid_address(address) {
        return None;
    }
    Some((address.to_string(), params.to_string()))
}

/// `local@domain` or a bare local part (`postmaster`), printable ASCII only.
fn valid_address(address: &str) -> bool {
    let printable = address.bytes().all(|b| b.is_ascii_graphic());
    let parts: Vec<&str> = address.split('@').collect();
    printable
        && match parts.as_slice() {
            [local] => !local.is_empty(),
            [local, domain] => !local.is_empty() && !domain.is_empty(),
            _ => false,
        }
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
}

/// `Thu, 29 Feb 2024 12:34:56 +0000`, the RFC 5322 date.
fn rfc5322_date(t: &UtcTime) -> String {
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[t.weekday as usize % 7],
        t.day,
        MONTHS[(t.month as usize + 11) % 12],
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

/// One mboxrd entry: the `From ` separator line, delivery headers, the message with `\n` line
/// ends and `From ` lines quoted with `>`, and the blank line that ends the entry.
pub fn mbox_entry(
    envelope: &Envelope,
    queue_id: &str,
    hostname: &str,
    received_at: SystemTime,
) -> Vec<u8> {
    let time = UtcTime::from_system(received_at);
    let sender = if envelope.from.is_empty() {
        "MAILER-DAEMON"
    } else {
        &envelope.from
    };
    let mut out = format!("From {sender} {}\n", time.asctime()).into_bytes();
    out.extend_from_slice(format!("Return-Path: <{}>\n", envelope.from).as_bytes());
    for rcpt in &envelope.rcpts {
        out.extend_from_slice(format!("Delivered-To: {rcpt}\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Received: from {} by {hostname} (labctl) with SMTP id {queue_id};\n\t{}\n",
            envelope.helo,
            rfc5322_date(&time)
        )
        .as_bytes(),
    );
    let body = envelope
        .data
        .strip_suffix(b"\r\n")
        .unwrap_or(&envelope.data);
    if !body.is_empty() {
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let unquoted = line.iter().position(|&b| b != b'>').map(|i| &line[i..]);
            if unquoted.is_some_and(|rest| rest.starts_with(b"From ")) {
                out.push(b'>');
            }
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out.push(b'\n');
    out
}

/// State shared by the connections of one server.
#[derive(Debug)]
struct Shared {
    config: Arc<SmtpConfig>,
    /// Serialises appends so entries from concurrent connections never interleave.
    mailbox_lock: Mutex<()>,
    next_id: AtomicU64,
}

/// Serves SMTP on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, config: SmtpConfig, shutdown: impl Future<Output = ()>) {
    let shared = Arc::new(Shared {
        config: Arc::new(config),
        mailbox_lock: Mutex::new(()),
        next_id: AtomicU64::new(1),
    });
    accept_loop(listener, shutdown, move |stream, _peer| {
        let shared = shared.clone();
        async move {
            // A failed connection concerns only its own client.
            let _ = handle_connection(stream, shared).await;
        }
    })
    .await;
}

async fn handle_connection(stream: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let (read_half, mut write_half) = stream.into_split();
    let mut lines = LineReader::new(read_half);
    let mut session = Session::new(shared.config.clone());
    write_half.write_all(session.greeting().as_bytes()).await?;
    loop {
        let idle = shared.config.idle_timeout;
        let Ok(next) = tokio::time::timeout(idle, lines.next_line()).await else {
            let reply = format!(
                "421 4.4.2 {} Error: timeout exceeded\r\n",
                shared.config.hostname
            );
            write_half.write_all(reply.as_bytes()).await?;
            break;
        };
        let Some(line) = next? else { break };
        let response = session.handle(&line);
        write_half.write_all(response.reply.as_bytes()).await?;
        match response.then {
            Then::Continue => {}
            Then::Close => break,
            Then::Deliver(envelope) => {
                let id = format!("{:08X}", shared.next_id.fetch_add(1, Ordering::Relaxed));
                let stored = append(&shared, &envelope, &id).await.map(|()| id.as_str());
                write_half
                    .write_all(session.delivered(stored).as_bytes())
                    .await?;
            }
        }
    }
    write_half.shutdown().await
}

async fn append(shared: &Shared, envelope: &Envelope, id: &str) -> io::Result<()> {
    let entry = mbox_entry(envelope, id, &shared.config.hostname, SystemTime::now());
    let _guard = shared.mailbox_lock.lock().await;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&shared.config.mailbox)
        .await?;
    file.write_all(&entry).await?;
    file.flush().await
}

/// `labctl serve smtp --listen ADDR:PORT --mailbox FILE [--hostname NAME]`.
#[derive(Debug, Clone, clap::Args)]
pub struct SmtpCliArgs {
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    #[arg(long)]
    pub mailbox: PathBuf,
    /// Name in the banner and replies
    #[arg(long)]
    pub hostname: Option<String>,
}

/// Binds `args.listen` in the current namespace and serves until `shutdown` completes.
pub async fn serve_cli(
    args: SmtpCliArgs,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let listener = listen("smtp", args.listen).await?;
    let config = SmtpConfig::new(
        args.hostname.unwrap_or_else(|| "localhost".to_string()),
        args.mailbox,
    );
    serve(listener, config, shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn session() -> Session {
        Session::new(Arc::new(SmtpConfig::new("mail.example.test", "/dev/null")))
    }

    /// Feeds lines and collects replies, delivering every message with the next queue id.
    fn dialogue(s: &mut Session, lines: &[&str]) -> (String, Vec<Envelope>) {
        let mut out = String::new();
        let mut delivered = Vec::new();
        for l in lines {
            let r = s.handle(&Line::Text(l.as_bytes().to_vec()));
            out.push_str(&r.reply);
            if let Then::Deliver(env) = r.then {
                delivered.push(env);
                let id = format!("{:08X}", delivered.len());
                out.push_str(&s.delivered(Ok(&id)));
            }
        }
        (out, delivered)
    }

    #[test]
    fn smtp_by_hand_lab_dialogue() {
        let mut s = session();
        assert_eq!(s.greeting(), "220 mail.example.test ESMTP labctl\r\n");
        let (out, mail) = dialogue(
            &mut s,
            &[
                "HELO client.example.test",
                "MAIL FROM:<student@client.example.test>",
                "RCPT TO:<teacher@example.test>",
                "DATA",
                "Subject: lab",
                "",
                "Hello from the lab.",
                ".",
                "QUIT",
            ],
        );
        assert_eq!(
            out,
            "250 mail.example.test\r\n\
             250 2.1.0 Ok\r\n\
             250 2.1.5 Ok\r\n\
             354 End data with <CR><LF>.<CR><LF>\r\n\
             250 2.0.0 Ok: queued as 00000001\r\n\
             221 2.0.0 Bye\r\n"
        );
        assert_eq!(
            mail,
            [Envelope {
                helo: "client.example.test".into(),
                from: "student@client.example.test".into(),
                rcpts: vec!["teacher@example.test".into()],
                data: b"Subject: lab\r\n\r\nHello from the lab.\r\n".to_vec(),
            }]
        );
    }

    #[test]
    fn ehlo_lists_extensions() {
        let mut s = session();
        let (out, _) = dialogue(&mut s, &["EHLO c"]);
        assert_eq!(
            out,
            "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n\
             250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
        );
    }

    #[test]
    fn sequence_errors_are_503() {
        let mut s = session();
        let (out, _) = dialogue(
            &mut s,
            &[
                "MAIL FROM:<a@b>",
                "HELO c",
                "RCPT TO:<x@y>",
                "DATA",
                "MAIL FROM:<a@b>",
                "MAIL FROM:<a@b>",
                "DATA",
            ],
        );
        assert_eq!(
            out,
            "503 5.5.1 Error: send HELO/EHLO first\r\n\
             250 mail.example.test\r\n\
             503 5.5.1 Error: need MAIL command\r\n\
             503 5.5.1 Error: need MAIL command\r\n\
             250 2.1.0 Ok\r\n\
             503 5.5.1 Error: nested MAIL command\r\n\
             503 5.5.1 Error: need RCPT command\r\n"
        );
    }

    #[test]
    fn syntax_errors_are_501() {
        let mut s = session();
        let (out, _) = dialogue(
            &mut s,
            &[
                "HELO",
                "HELO c",
                "MAIL",
                "MAIL FROM:",
                "MAIL FROM:<a@b",
                "MAIL TO:<a@b>",
                "MAIL FROM:<a b@c>",
                "MAIL FROM:<a@b> SIZE=abc",
                "MAIL FROM:<>",
                "RCPT TO:<>",
                "RCPT TO:",
                "RCPT TO:<@@>",
                "DATA now",
                "VRFY",
                "RSET x",
            ],
        );
        let codes: Vec<&str> = out.lines().map(|l| &l[..3]).collect();
        assert_eq!(
            codes,
            [
                "501", "250", "501", "501", "501", "501", "501", "501", "250", "501", "501", "501",
                "501", "501", "501"
            ]
        );
    }

    #[test]
    fn lenient_forms_people_type() {
        let mut s = session();
        let (out, _) = dialogue(
            &mut s,
            &[
                "helo c",
                "mail from: <a@b> BODY=8BITMIME",
                "rcpt to: x@y",
                "Rcpt To:postmaster",
            ],
        );
        assert_eq!(
            out,
            "250 mail.example.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
        );
    }

    #[test]
    fn dot_unstuffing_and_lone_dot() {
        let mut s = session();
        let (_, mail) = dialogue(
            &mut s,
            &[
                "HELO c",
                "MAIL FROM:<a@b>",
                "RCPT TO:<x@y>",
                "DATA",
                "..",
                "...leading",
                ". ",
                ".",
            ],
        );
        assert_eq!(mail[0].data, b".\r\n..leading\r\n \r\n");
    }

    #[test]
    fn rset_noop_vrfy_help() {
        let mut s = session();
        let (out, mail) = dialogue(
            &mut s,
            &[
                "EHLO c",
                "MAIL FROM:<a@b>",
                "RCPT TO:<x@y>",
                "RSET",
                "DATA",
                "NOOP",
                "VRFY <root@example.test>",
                "HELP",
            ],
        );
        assert!(out.ends_with(
            "250 2.0.0 Ok\r\n503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n\
             252 2.0.0 root@example.test\r\n\
             214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\r\n"
        ));
        assert!(mail.is_empty());
    }

    #[test]
    fn two_messages_in_one_session() {
        let mut s = session();
        let lines = [
            "HELO c",
            "MAIL FROM:<a@b>",
            "RCPT TO:<x@y>",
            "DATA",
            "one",
            ".",
            "MAIL FROM:<a@b>",
            "RCPT TO:<x@y>",
            "RCPT TO:<z@y>",
            "DATA",
            "two",
            ".",
        ];
        let (out, mail) = dialogue(&mut s, &lines);
        assert!(out.contains("queued as 00000001"));
        assert!(out.contains("queued as 00000002"));
        assert_eq!(mail[1].rcpts, ["x@y", "z@y"]);
        assert_eq!(mail[1].data, b"two\r\n");
    }

    #[test]
    fn oversized_message_is_refused_and_session_goes_on() {
        let mut config = SmtpConfig::new("m", "/dev/null");
        config.max_message = 10;
        let mut s = Session::new(Arc::new(config));
        let (out, mail) = dialogue(
            &mut s,
            &[
                "HELO c",
                "MAIL FROM:<a@b> SIZE=11",
                "MAIL FROM:<a@b>",
                "RCPT TO:<x@y>",
                "DATA",
                "0123456789",
                ".",
                "NOOP",
            ],
        );
        assert!(out.contains("552 5.3.4 Message size exceeds fixed limit\r\n"));
        assert!(out.ends_with("552 5.3.4 Error: message file too big\r\n250 2.0.0 Ok\r\n"));
        assert!(mail.is_empty());
    }

    #[test]
    fn overlong_lines_in_commands_and_in_data() {
        let mut s = session();
        assert_eq!(
            s.handle(&Line::TooLong).reply,
            "500 5.5.2 Error: line too long\r\n"
        );
        dialogue(
            &mut s,
            &["HELO c", "MAIL FROM:<a@b>", "RCPT TO:<x@y>", "DATA"],
        );
        assert_eq!(s.handle(&Line::TooLong).reply, "");
        let (out, mail) = dialogue(&mut s, &["fine", "."]);
        assert_eq!(out, "500 5.5.2 Error: message line too long\r\n");
        assert!(mail.is_empty());
    }

    #[test]
    fn garbage_and_unknown_commands() {
        let mut s = session();
        assert_eq!(
            s.handle(&Line::Text(vec![])).reply,
            "500 5.5.2 Error: bad syntax\r\n"
        );
        assert_eq!(
            s.handle(&Line::Text(vec![0x16, 0x03, 0x01, 0xff, 0x00]))
                .reply,
            "502 5.5.2 Error: command not recognized\r\n"
        );
        assert_eq!(
            s.handle(&Line::Text(b"STARTTLS".to_vec())).reply,
            "502 5.5.2 Error: command not recognized\r\n"
        );
        assert_eq!(s.handle(&Line::Text(b"QUIT".to_vec())).then, Then::Close);
    }

    #[test]
    fn too_many_recipients() {
        let mut config = SmtpConfig::new("m", "/dev/null");
        config.max_recipients = 1;
        let mut s = Session::new(Arc::new(config));
        let (out, _) = dialogue(
            &mut s,
            &[
                "HELO c",
                "MAIL FROM:<a@b>",
                "RCPT TO:<x@y>",
                "RCPT TO:<z@y>",
            ],
        );
        assert!(out.ends_with("452 4.5.3 Error: too many recipients\r\n"));
    }

    #[test]
    fn mbox_entry_format() {
        let env = Envelope {
            helo: "client.example.test".into(),
            from: "student@client.example.test".into(),
            rcpts: vec!["teacher@example.test".into()],
            data: b"Subject: lab\r\n\r\nFrom here on\r\n>From quoted\r\nend\r\n".to_vec(),
        };
        let when = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        let entry = mbox_entry(&env, "00000001", "mail.example.test", when);
        assert_eq!(
            String::from_utf8(entry).unwrap(),
            "From student@client.example.test Thu Feb 29 12:34:56 2024\n\
             Return-Path: <student@client.example.test>\n\
             Delivered-To: teacher@example.test\n\
             Received: from client.example.test by mail.example.test (labctl) with SMTP id 00000001;\n\
             \tThu, 29 Feb 2024 12:34:56 +0000\n\
             Subject: lab\n\
             \n\
             >From here on\n\
             >>From quoted\n\
             end\n\
             \n"
        );
    }

    #[test]
    fn mbox_entry_for_null_sender_and_empty_body() {
        let env = Envelope {
            helo: "c".into(),
            from: String::new(),
            rcpts: vec!["x@y".into()],
            data: Vec::new(),
        };
        let entry = String::from_utf8(mbox_entry(&env, "1", "m", UNIX_EPOCH)).unwrap();
        assert!(
            entry.starts_with("From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nReturn-Path: <>\n")
        );
        assert!(entry.ends_with("+0000\n\n"));
    }
}
