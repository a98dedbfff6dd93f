//! Protocol client steps: a telnet session typed line by line, and the built-in FTP, SMTP,
//! HTTP and DNS clients of `services::clients`, each run from inside the step's host.
//!
//! Contract: like every step, what the network or the server did is an outcome, never an
//! error. The transcript (every line sent and received, and notes for connections opened) goes
//! into the [`StepResult`] for the report; it holds nothing that varies between runs except
//! the ports the server announced, which the lab asks the student to compute, and the DNS
//! transaction ids, which are the same on every run of a scenario: each query of a step gets
//! its own id from [`QueryIds`], seeded by the step's line, so that the capture shows every
//! response carrying its own query's id, as a real resolver's do.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;

use super::{ROUTED, StepResult};
use crate::sandbox::Netns;
use crate::scenario::{
    Action, DialogueLine, MailServer, ProtocolStep, StepOutcome, StepPlan, Target,
};
use crate::services::clients::{self, Connect, Dialogue, TranscriptLine, dns, ftp, http, smtp};
use crate::topology::{Host, Lab};

/// The protocol client kinds (`ftp`, `smtp`, `http`, `dns`).
pub(super) async fn drive(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), super::ProgramError> {
    let Action::Protocol(client) = &step.action else {
        unreachable!("{ROUTED}")
    };
    run(lab.host(step.host), client, result).await;
    Ok(())
}

/// Runs a protocol step from `host`, filling in `result`.
pub(super) async fn run(host: &Host, step: &ProtocolStep, result: &mut StepResult) {
    let connect = match connector(&host.netns) {
        Ok(connect) => connect,
        Err(e) => {
            result.outcome = StepOutcome::Failed;
            result.detail = format!("cannot use the host's namespace: {e}");
            return;
        }
    };
    match step {
        ProtocolStep::Dialogue {
            target,
            banner,
            lines,
            follow_pasv,
            timeout,
        } => {
            let (transcript, outcome) = dialogue(
                &connect,
                target,
                banner.as_deref(),
                lines,
                *follow_pasv,
                *timeout,
            )
            .await;
            finish(result, transcript, &outcome, StepOutcome::Connected);
        }
        ProtocolStep::Ftp {
            target,
            user,
            password,
            commands,
            timeout,
        } => {
            let script = ftp::FtpScript {
                user: user.clone(),
                password: password.clone(),
                steps: commands.clone(),
            };
            let report = ftp::run(&connect, addr(target), &script, *timeout).await;
            finish(
                result,
                report.report.transcript,
                &report.report.outcome,
                StepOutcome::Ok,
            );
            let ports: Vec<String> = report
                .data_addrs
                .iter()
                .map(|a| a.port().to_string())
                .collect();
            if !ports.is_empty() {
                result.detail += &format!(", passive data ports {}", ports.join(", "));
            }
            for (name, bytes) in &report.files {
                result.detail += &format!(", got {name} ({} bytes)", bytes.len());
            }
            result.received = report.listings.concat();
        }
        ProtocolStep::Smtp {
            server,
            helo,
            from,
            to,
            body,
            timeout,
        } => {
            let script = smtp::MailScript {
                helo: helo.clone(),
                ehlo: false,
                from: from.clone(),
                to: to.clone(),
                message: body.clone(),
            };
            let mut transcript = Vec::new();
            let mail_host = match server {
                MailServer::Direct(target) => Ok(addr(target)),
                MailServer::Mx {
                    domain,
                    resolver,
                    port,
                } => {
                    let mut ids = QueryIds::new(result.line);
                    let (port, timeout) = (*port, *timeout);
                    mail_exchanger(
                        host,
                        domain,
                        resolver,
                        port,
                        timeout,
                        &mut ids,
                        &mut transcript,
                    )
                    .await
                }
            };
            match mail_host {
                Ok(server) => {
                    let report = smtp::run(&connect, server, &script, *timeout).await;
                    transcript.extend(report.report.transcript);
                    finish(result, transcript, &report.report.outcome, StepOutcome::Ok);
                    if let Some(accepted) = report.accepted {
                        result.detail += &format!(", {accepted}");
                    }
                }
                Err(outcome) => finish(result, transcript, &outcome, StepOutcome::Ok),
            }
        }
        ProtocolStep::Http {
            target,
            host_header,
            path,
            timeout,
            ..
        } => {
            let request = http::HttpRequest::get(host_header.clone(), path.clone());
            let report = http::run(&connect, addr(target), &request, *timeout).await;
            finish(
                result,
                report.report.transcript,
                &report.report.outcome,
                StepOutcome::Ok,
            );
            if let Some(status) = report.status {
                result.detail += &format!(", status {status}, {} bytes", report.body.len());
            }
            result.received = String::from_utf8_lossy(&report.body).into_owned();
        }
        ProtocolStep::Dns {
            server,
            name,
            qtype,
            tcp,
            timeout,
        } => {
            let ask = dns::DnsQuery::new(name, *qtype, QueryIds::new(result.line).next_id());
            let report = query(host, &connect, addr(server), &ask, *tcp, *timeout).await;
            finish(
                result,
                report.report.transcript,
                &report.report.outcome,
                StepOutcome::Ok,
            );
            if let Some(status) = &report.status {
                result.detail += &format!(", {status}, {} answers", report.answers.len());
            }
            // The response as dig prints it, line by line under the transcript.
            if let Some(dig) = &report.dig {
                result
                    .transcript
                    .extend(dig.lines().map(|l| format!("   {l}")));
            }
        }
    }
}

fn addr(target: &Target) -> SocketAddr {
    SocketAddr::new(target.addr, target.port)
}

/// Records a client's transcript and turns its outcome into the step's.
fn finish(
    result: &mut StepResult,
    transcript: Vec<TranscriptLine>,
    outcome: &clients::SessionOutcome,
    success: StepOutcome,
) {
    result.transcript = transcript.iter().map(ToString::to_string).collect();
    result.outcome = match outcome {
        clients::SessionOutcome::Completed => success,
        clients::SessionOutcome::Refused { .. } => StepOutcome::Refused,
        clients::SessionOutcome::TimedOut { .. } => StepOutcome::TimedOut,
        clients::SessionOutcome::Unreachable { .. } => StepOutcome::Unreachable,
        _ => StepOutcome::Failed,
    };
    result.detail = outcome.to_string();
}

/// Connects from inside `netns`: the socket is created there, then connected from the runtime.
fn connector(netns: &Netns) -> io::Result<Connect> {
    let netns = Arc::new(netns.try_clone()?);
    Ok(Arc::new(move |addr: SocketAddr| {
        let netns = netns.clone();
        Box::pin(async move {
            let socket = netns
                .run(move || {
                    if addr.is_ipv4() {
                        TcpSocket::new_v4()
                    } else {
                        TcpSocket::new_v6()
                    }
                })
                .map_err(io::Error::other)??;
            socket.connect(addr).await
        })
    }))
}

/// A UDP socket of the host, for DNS queries.
fn udp_socket(host: &Host, server: SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    let local = match server.ip() {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)),
    };
    let socket = host
        .netns
        .run(move || {
            let s = std::net::UdpSocket::bind(local)?;
            s.set_nonblocking(true)?;
            Ok::<_, io::Error>(s)
        })
        .map_err(io::Error::other)??;
    tokio::net::UdpSocket::from_std(socket)
}

/// The transaction ids of one step's DNS queries: each query its own id, the same on every run.
///
/// A resolver picks its ids at random so that an off-path attacker cannot guess them; a lab
/// wants the same capture run after run, so the ids come from a counter seeded by the step's
/// line in the scenario (line << 3 | query number), scrambled by a bijection of 16-bit numbers
/// so that the ids of neighbouring steps look as unrelated as a resolver's. Being a bijection
/// that maps only 0 to 0, it gives every query of a scenario its own nonzero id, as long as
/// lines stay below 8192 and a step asks fewer than 8 questions (it asks at most 2).
pub(crate) struct QueryIds {
    line: u16,
    count: u16,
}

impl QueryIds {
    pub(crate) fn new(step_line: usize) -> Self {
        Self {
            line: step_line as u16,
            count: 0,
        }
    }

    /// The next query's id.
    pub(crate) fn next_id(&mut self) -> u16 {
        let mut x = self.line << 3 | (self.count & 7);
        self.count += 1;
        // Right xorshifts and products with odd numbers are each one-to-one on u16.
        x ^= x >> 7;
        x = x.wrapping_mul(0x2d35);
        x ^= x >> 9;
        x = x.wrapping_mul(0x9e3b);
        x ^ (x >> 8)
    }
}

/// One query, over UDP from a socket of the host or over TCP.
async fn query(
    host: &Host,
    connect: &Connect,
    server: SocketAddr,
    query: &dns::DnsQuery,
    tcp: bool,
    timeout: Duration,
) -> dns::DnsReport {
    if tcp {
        return dns::query(dns::Via::Tcp(connect), server, query, timeout).await;
    }
    match udp_socket(host, server) {
        Ok(socket) => dns::query(dns::Via::Udp(&socket), server, query, timeout).await,
        Err(e) => dns::DnsReport::failed(
            clients::SessionOutcome::Failed {
                message: format!("cannot open a UDP socket: {e}"),
            },
            Vec::new(),
        ),
    }
}

/// Asks the resolver for the MX of `domain`, then for the address of the preferred exchanger
/// unless the response already carries it, as a mail client does before it connects.
async fn mail_exchanger(
    host: &Host,
    domain: &str,
    resolver: &Target,
    port: u16,
    timeout: Duration,
    ids: &mut QueryIds,
    transcript: &mut Vec<TranscriptLine>,
) -> Result<SocketAddr, clients::SessionOutcome> {
    let connect = connector(&host.netns).map_err(|e| clients::SessionOutcome::Failed {
        message: e.to_string(),
    })?;
    let server = addr(resolver);
    let ask = dns::DnsQuery::new(domain, RecordType::MX, ids.next_id());
    let mx = query(host, &connect, server, &ask, false, timeout).await;
    transcript.extend(mx.report.transcript.iter().cloned());
    if !mx.report.outcome.is_completed() {
        return Err(mx.report.outcome);
    }
    let response = mx.response.as_ref();
    let exchanger = response
        .into_iter()
        .flat_map(|m| m.answers.iter())
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
            _ => None,
        })
        .min()
        .ok_or_else(|| clients::SessionOutcome::Unexpected {
            step: format!("MX {domain}"),
            expected: "an MX record".to_string(),
            got: mx.status.clone().unwrap_or_default(),
        })?
        .1;
    let from_additional = response
        .into_iter()
        .flat_map(|m| m.additionals.iter())
        .find_map(|r| match &r.data {
            RData::A(a) if r.name == exchanger => Some(IpAddr::V4(a.0)),
            _ => None,
        });
    let ip = match from_additional {
        Some(ip) => ip,
        None => {
            let name = exchanger.to_ascii();
            let ask = dns::DnsQuery::new(name.as_str(), RecordType::A, ids.next_id());
            let a = query(host, &connect, server, &ask, false, timeout).await;
            transcript.extend(a.report.transcript.iter().cloned());
            a.response
                .iter()
                .flat_map(|m| m.answers.iter())
                .find_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    _ => None,
                })
                .ok_or_else(|| clients::SessionOutcome::Unexpected {
                    step: format!("A {name}"),
                    expected: "an A record".to_string(),
                    got: a.status.unwrap_or_default(),
                })?
        }
    };
    let mail = SocketAddr::new(ip, port);
    transcript.push(TranscriptLine {
        direction: clients::Direction::Note,
        text: format!(
            "mail for {domain} goes to {} at {mail}",
            exchanger.to_ascii()
        ),
    });
    Ok(mail)
}

/// A data connection opened after a `227` reply, read to its end in the background.
type DataTask = (SocketAddr, JoinHandle<Result<Vec<u8>, String>>);

/// A telnet session typed line by line: each line sent, then each expected reply checked.
async fn dialogue(
    connect: &Connect,
    target: &Target,
    banner: Option<&str>,
    lines: &[DialogueLine],
    follow_pasv: bool,
    timeout: Duration,
) -> (Vec<TranscriptLine>, clients::SessionOutcome) {
    let server = addr(target);
    let stream = match clients::connect_with(connect, server, timeout).await {
        Ok(stream) => stream,
        Err(outcome) => return (Vec::new(), outcome),
    };
    let mut d = Dialogue::new(stream, timeout, Vec::new());
    d.note(format!("connected to {server}"));
    let mut data: Vec<DataTask> = Vec::new();
    let mut outcome = typed(
        &mut d,
        connect,
        banner,
        lines,
        follow_pasv,
        timeout,
        &mut data,
    )
    .await;
    // The person closes the session: the server sees the end of the input and finishes.
    d.half_close().await;
    loop {
        match d.line("the server to close").await {
            Ok(_) => {}
            Err(clients::SessionOutcome::Closed { .. }) => break,
            Err(other) => {
                if outcome.is_ok() {
                    outcome = Err(other);
                }
                break;
            }
        }
    }
    for (at, task) in data {
        match task.await.unwrap_or_else(|e| Err(e.to_string())) {
            Ok(bytes) => {
                d.note(format!(
                    "data connection {at} closed after {} bytes",
                    bytes.len()
                ));
                for line in String::from_utf8_lossy(&bytes).lines() {
                    d.note(format!("data: {line}"));
                }
            }
            Err(message) => {
                d.note(message.clone());
                if outcome.is_ok() {
                    outcome = Err(clients::SessionOutcome::Failed { message });
                }
            }
        }
    }
    let transcript = d.close().await;
    (
        transcript,
        outcome.err().unwrap_or(clients::SessionOutcome::Completed),
    )
}

async fn typed(
    d: &mut Dialogue,
    connect: &Connect,
    banner: Option<&str>,
    lines: &[DialogueLine],
    follow_pasv: bool,
    timeout: Duration,
    data: &mut Vec<DataTask>,
) -> Result<(), clients::SessionOutcome> {
    if let Some(prefix) = banner {
        reply(d, "the banner", prefix).await?;
    }
    for line in lines {
        d.send(&line.send).await?;
        for prefix in &line.expect {
            let got = reply(d, &line.send, prefix).await?;
            if follow_pasv && got.starts_with("227") {
                let Some(at) = ftp::parse_pasv(&got) else {
                    return Err(clients::SessionOutcome::Unexpected {
                        step: line.send.clone(),
                        expected: "227 (h1,h2,h3,h4,p1,p2)".to_string(),
                        got,
                    });
                };
                d.note(format!(
                    "port {}*256+{} = {}: second connection to {at}",
                    at.port() / 256,
                    at.port() % 256,
                    at.port()
                ));
                let mut stream = clients::connect_with(connect, at, timeout).await?;
                data.push((
                    at,
                    tokio::spawn(async move {
                        let mut bytes = Vec::new();
                        match tokio::time::timeout(timeout, stream.read_to_end(&mut bytes)).await {
                            Ok(Ok(_)) => Ok(bytes),
                            Ok(Err(e)) => Err(format!("data connection {at}: {e}")),
                            Err(_) => Err(format!("timed out waiting for data on {at}")),
                        }
                    }),
                ));
            }
        }
    }
    Ok(())
}

/// Reads one reply (an FTP/SMTP multi-line reply as a whole) and checks its prefix. Returns
/// the reply's last line, which carries the code and text a person reads.
async fn reply(
    d: &mut Dialogue,
    after: &str,
    prefix: &str,
) -> Result<String, clients::SessionOutcome> {
    let waiting_for = format!("a reply to {after:?}");
    let mut line = d.line(&waiting_for).await?;
    let first = line.clone();
    let continued = first.len() > 3
        && first.as_bytes()[..3].iter().all(u8::is_ascii_digit)
        && first.as_bytes()[3] == b'-';
    if continued {
        let end = format!("{} ", &first[..3]);
        while !(line.starts_with(&end) || line == first[..3]) {
            line = d.line(&waiting_for).await?;
        }
    }
    if first.starts_with(prefix) {
        Ok(line)
    } else {
        Err(clients::SessionOutcome::Unexpected {
            step: after.to_string(),
            expected: prefix.to_string(),
            got: first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::QueryIds;

    /// The ids a scenario's steps send: the steps at `lines`, `per_step` queries each.
    fn ids(lines: &[usize], per_step: usize) -> Vec<u16> {
        lines
            .iter()
            .flat_map(|&line| {
                let mut ids = QueryIds::new(line);
                (0..per_step).map(move |_| ids.next_id())
            })
            .collect()
    }

    #[test]
    fn each_query_of_a_run_has_its_own_nonzero_id() {
        let lines: Vec<usize> = (1..8192).collect();
        let all = ids(&lines, 8);
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len(), "a repeated id among {all:?}");
        assert!(!all.contains(&0));
    }

    #[test]
    fn a_scenario_sends_the_same_ids_on_every_run() {
        assert_eq!(ids(&[12, 31, 47], 3), ids(&[12, 31, 47], 3));
        // Neighbouring steps do not get neighbouring ids, as a resolver's look random.
        let [a, b] = ids(&[12, 13], 1)[..] else {
            unreachable!()
        };
        assert!(a.abs_diff(b) > 1, "{a} and {b}");
    }
}
