//! The telnet-style client: connect, send the text, half-close, and read what the server says
//! until it closes. Outcomes are reported the way a person at a terminal sees them.
//!
//! A step that waits for SYNs (`syns = k`) ends on the event, not on a clock: the kernel's
//! retransmission count is read while the connection is pending, and the socket is closed as
//! the k-th SYN leaves (closing a connecting socket sends nothing), so the wire shows exactly k
//! SYNs however late this process is scheduled; the timeout is then only a safety bound.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::{ProgramError, ROUTED, StepResult};
use crate::scenario::{Action, StepOutcome, StepPlan, Target};
use crate::topology::{Host, Lab};

pub(super) struct Session {
    pub outcome: StepOutcome,
    pub detail: String,
    pub sent: Vec<u8>,
    pub received: Vec<u8>,
}

/// How often a `syns` step reads the retransmission count. The next SYN is at least a second
/// away, so a late read costs nothing but a late end of the step.
const SYN_POLL: Duration = Duration::from_millis(10);

/// The `telnet` kind: the telnet-style client, or with `dialogue` a protocol client's session.
pub(super) async fn drive(
    lab: &Lab,
    step: &StepPlan,
    result: &mut StepResult,
) -> Result<(), ProgramError> {
    let host = lab.host(step.host);
    let (target, send, expect_reply, syns, timeout) = match &step.action {
        Action::Telnet {
            target,
            send,
            expect_reply,
            syns,
            timeout,
        } => (target, send, expect_reply, syns, timeout),
        Action::Protocol(session) => {
            super::protocol::run(host, session, result).await;
            return Ok(());
        }
        _ => unreachable!("{ROUTED}"),
    };
    let t = run(host, target, send.as_bytes(), *syns, *timeout).await;
    result.outcome = t.outcome;
    result.detail = t.detail;
    result.sent = String::from_utf8_lossy(&t.sent).into_owned();
    result.received = String::from_utf8_lossy(&t.received).into_owned();
    if let Some(reply) = expect_reply {
        if result.outcome == StepOutcome::Connected && !result.received.contains(reply.as_str()) {
            // The connection worked but the dialogue did not: a failed step.
            result.outcome = StepOutcome::Failed;
            result.detail = format!("the reply does not contain {reply:?}");
        }
    }
    Ok(())
}

async fn run(
    host: &Host,
    target: &Target,
    send: &[u8],
    syns: Option<u32>,
    timeout: Duration,
) -> Session {
    let addr = SocketAddr::new(target.addr, target.port);
    let mut session = Session {
        outcome: StepOutcome::Connected,
        detail: String::new(),
        sent: Vec::new(),
        received: Vec::new(),
    };
    // The socket is created inside the client host; connecting it from the runtime is fine.
    let socket = host.netns.run(move || {
        if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
    });
    let socket = match socket {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return fail(
                session,
                StepOutcome::Failed,
                format!("cannot create a socket: {e}"),
            );
        }
        Err(e) => return fail(session, StepOutcome::Failed, e.to_string()),
    };
    let connected = match syns {
        None => tokio::time::timeout(timeout, socket.connect(addr))
            .await
            .map_err(|_| {
                (
                    StepOutcome::TimedOut,
                    format!("no answer within {}", crate::text::human_duration(timeout)),
                )
            }),
        Some(k) => connect_until_syn(socket, addr, k, timeout).await,
    };
    let mut stream = match connected {
        Err((outcome, detail)) => return fail(session, outcome, detail),
        Ok(Err(e)) => {
            let outcome = connect_outcome(&e);
            return fail(session, outcome, e.to_string().to_lowercase());
        }
        Ok(Ok(stream)) => stream,
    };
    session.detail = format!("connected to {addr}");
    if let Err(e) = stream.write_all(send).await {
        session.detail = format!("send failed: {e}");
        return session;
    }
    session.sent = send.to_vec();
    // Half-close: the server sees the end of the text, as when a person quits telnet, and a
    // server that answers still gets its answer through. A client with nothing to send waits
    // for the server to end the session and closes after it.
    if !send.is_empty() {
        let _ = stream.shutdown().await;
    }
    let mut buf = Vec::new();
    match tokio::time::timeout(timeout, stream.read_to_end(&mut buf)).await {
        Ok(Ok(_)) => session.detail.push_str(", closed by the server"),
        Ok(Err(e)) => session
            .detail
            .push_str(&format!(", {}", e.to_string().to_lowercase())),
        Err(_) => session
            .detail
            .push_str(", the server kept the connection open"),
    }
    if send.is_empty() {
        let _ = stream.shutdown().await;
    }
    session.received = buf;
    session
}

/// Connects, ending as the `k`-th SYN leaves unanswered (`timed-out`, the socket closed at
/// once) or, if the SYNs stop short of `k` within `timeout`, with a failure that says so.
async fn connect_until_syn(
    socket: TcpSocket,
    addr: SocketAddr,
    k: u32,
    timeout: Duration,
) -> Result<io::Result<TcpStream>, (StepOutcome, String)> {
    // A second descriptor of the same socket, to read its TCP_INFO while `connect` owns it.
    let watch = nix::unistd::dup(&socket)
        .map_err(|e| (StepOutcome::Failed, format!("cannot watch the socket: {e}")))?;
    let sent = || crate::sandbox::tcp_retransmitted(watch.as_fd()).map(|r| r + 1);
    let connecting = socket.connect(addr);
    tokio::pin!(connecting);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        tokio::select! {
            r = &mut connecting => return Ok(r),
            _ = tokio::time::sleep(SYN_POLL) => {}
        }
        match sent() {
            Ok(n) if n >= k => {
                // Both descriptors go now: the socket closes before any further SYN.
                return Err((
                    StepOutcome::TimedOut,
                    format!("no answer to {k} SYNs, closed after the last"),
                ));
            }
            Ok(n) if tokio::time::Instant::now() >= deadline => {
                return Err((
                    StepOutcome::Failed,
                    format!(
                        "{n} of {k} SYNs sent within {}",
                        crate::text::human_duration(timeout)
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) => return Err((StepOutcome::Failed, format!("cannot read TCP_INFO: {e}"))),
        }
    }
}

fn fail(mut session: Session, outcome: StepOutcome, detail: String) -> Session {
    session.outcome = outcome;
    session.detail = detail;
    session
}

/// Maps a connect error to what the person at the terminal sees.
pub(super) fn connect_outcome(e: &io::Error) -> StepOutcome {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => StepOutcome::Refused,
        Some(libc::ETIMEDOUT) => StepOutcome::TimedOut,
        Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EACCES | libc::EPERM) => {
            StepOutcome::Unreachable
        }
        _ => StepOutcome::Failed,
    }
}
