//! The telnet-style client: connect, send the text, half-close, and read what the server says
//! until it closes. Outcomes are reported the way a person at a terminal sees them.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::scenario::{StepOutcome, Target};
use crate::topology::Host;

pub(super) struct Session {
    pub outcome: StepOutcome,
    pub detail: String,
    pub sent: Vec<u8>,
    pub received: Vec<u8>,
}

pub(super) async fn run(host: &Host, target: &Target, send: &[u8], timeout: Duration) -> Session {
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
    let mut stream = match tokio::time::timeout(timeout, socket.connect(addr)).await {
        Err(_) => {
            return fail(
                session,
                StepOutcome::TimedOut,
                format!("no answer within {}", crate::text::human_duration(timeout)),
            );
        }
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
