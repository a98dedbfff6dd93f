//! FTP client in passive mode, as the ftp-client lab drives it: log in, `pwd`, `cd`, `ls`,
//! `get`, `quit`.
//!
//! It does what the lab teaches a person to do by hand: send `PASV`, read the
//! `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` reply, connect to `h1.h2.h3.h4` port
//! `p1*256+p2`, then send `LIST` or `RETR` and read the data connection to its end. The data
//! ports it used are reported, so a check can compare them with the capture.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::{Connect, Dialogue, Report, SessionOutcome, connect_with, converse};

/// One user command of an FTP session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FtpStep {
    Pwd,
    Cd(String),
    /// `ls [path]`: `LIST` over a passive data connection.
    Ls(Option<String>),
    /// `get FILE`: `TYPE I` then `RETR` over a passive data connection.
    Get(String),
}

/// A session: who logs in and what they do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FtpScript {
    pub user: String,
    pub password: String,
    pub steps: Vec<FtpStep>,
}

impl FtpScript {
    /// The lab's session: anonymous login, then the given steps.
    pub fn anonymous(steps: Vec<FtpStep>) -> Self {
        Self {
            user: "anonymous".to_string(),
            password: "anonymous".to_string(),
            steps,
        }
    }
}

/// What an FTP session produced besides its transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FtpReport {
    #[serde(flatten)]
    pub report: Report,
    /// The directory `PWD` reported, per `pwd` step.
    pub directories: Vec<String>,
    /// The text of each `ls`.
    pub listings: Vec<String>,
    /// Files fetched with `get`, by the name asked for.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Every passive data address computed from a `227` reply, in order.
    pub data_addrs: Vec<SocketAddr>,
}

/// Parses `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: the address and port = p1*256+p2.
pub fn parse_pasv(reply: &str) -> Option<SocketAddr> {
    let open = reply.find('(')?;
    let close = open + reply[open..].find(')')?;
    let numbers: Vec<u8> = reply[open + 1..close]
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    let [h1, h2, h3, h4, p1, p2] = numbers.as_slice() else {
        return None;
    };
    let port = u16::from(*p1) * 256 + u16::from(*p2);
    Some(SocketAddr::from((Ipv4Addr::new(*h1, *h2, *h3, *h4), port)))
}

/// Runs an FTP session against `server`.
pub async fn run(
    connect: &Connect,
    server: SocketAddr,
    script: &FtpScript,
    timeout: Duration,
) -> FtpReport {
    let mut out = FtpReport {
        report: Report {
            transcript: Vec::new(),
            outcome: SessionOutcome::Completed,
        },
        directories: Vec::new(),
        listings: Vec::new(),
        files: BTreeMap::new(),
        data_addrs: Vec::new(),
    };
    out.report = converse(connect, server, timeout, async |d| {
        session(connect, d, script, timeout, &mut out).await
    })
    .await;
    out
}

async fn session(
    connect: &Connect,
    d: &mut Dialogue,
    script: &FtpScript,
    timeout: Duration,
    out: &mut FtpReport,
) -> Result<(), SessionOutcome> {
    d.expect("greeting", &[220]).await?;
    let user = d
        .command(&format!("USER {}", script.user), &[230, 331])
        .await?;
    if user.code == 331 {
        d.command(&format!("PASS {}", script.password), &[230])
            .await?;
    }
    for step in &script.steps {
        match step {
            FtpStep::Pwd => {
                let reply = d.command("PWD", &[257]).await?;
                let first = &reply.lines[0];
                let dir = first
                    .split('"')
                    .nth(1)
                    .map_or_else(|| first[4.min(first.len())..].to_string(), str::to_string);
                out.directories.push(dir);
            }
            FtpStep::Cd(dir) => {
                d.command(&format!("CWD {dir}"), &[250]).await?;
            }
            FtpStep::Ls(path) => {
                let command = match path {
                    Some(p) => format!("LIST {p}"),
                    None => "LIST".to_string(),
                };
                let data = transfer(connect, d, &command, timeout, out).await?;
                out.listings
                    .push(String::from_utf8_lossy(&data).into_owned());
            }
            FtpStep::Get(file) => {
                d.command("TYPE I", &[200]).await?;
                let data = transfer(connect, d, &format!("RETR {file}"), timeout, out).await?;
                out.files.insert(file.clone(), data);
            }
        }
    }
    d.command("QUIT", &[221]).await?;
    Ok(())
}

/// `PASV`, connect to the computed port, send `command`, read the data to its end.
async fn transfer(
    connect: &Connect,
    d: &mut Dialogue,
    command: &str,
    timeout: Duration,
    out: &mut FtpReport,
) -> Result<Vec<u8>, SessionOutcome> {
    let reply = d.command("PASV", &[227]).await?;
    let addr = parse_pasv(&reply.lines[0]).ok_or_else(|| SessionOutcome::Unexpected {
        step: "PASV".to_string(),
        expected: "227 (h1,h2,h3,h4,p1,p2)".to_string(),
        got: reply.text(),
    })?;
    out.data_addrs.push(addr);
    d.note(format!("data connection to {addr}"));
    let mut data_stream = connect_with(connect, addr, timeout).await?;
    d.command(command, &[125, 150]).await?;
    let mut data = Vec::new();
    match tokio::time::timeout(timeout, data_stream.read_to_end(&mut data)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(SessionOutcome::Failed {
                message: format!("data connection {addr}: {e}"),
            });
        }
        Err(_) => {
            return Err(SessionOutcome::TimedOut {
                waiting_for: format!("data on {addr}"),
            });
        }
    }
    d.note(format!("data connection closed after {} bytes", data.len()));
    d.expect(command, &[226, 250]).await?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasv_reply_gives_address_and_port() {
        assert_eq!(
            parse_pasv("227 Entering Passive Mode (10,0,0,2,156,64)."),
            Some("10.0.0.2:40000".parse().unwrap())
        );
        assert_eq!(
            parse_pasv("227 Entering Passive Mode (192,0,2,1,255,255)"),
            Some("192.0.2.1:65535".parse().unwrap())
        );
        assert_eq!(parse_pasv("227 Entering Passive Mode (10,0,0,2,156)"), None);
        assert_eq!(
            parse_pasv("227 Entering Passive Mode (10,0,0,2,156,300)"),
            None
        );
        assert_eq!(parse_pasv("227 no numbers"), None);
    }
}
