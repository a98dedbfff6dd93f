//! Services: in-process protocol servers, and the built-in protocol clients that steps drive
//! against them. A library with no knowledge of scenarios, labs or namespaces (it imports no
//! stage of the crate, so the scenario may carry its types); the run stage (`run/servers.rs`)
//! binds each plan's services inside their hosts and hands the sockets in here.
//!
//! Each protocol is a pure state machine (bytes or lines in, replies out) in its own file, with
//! a thin tokio shell around it. Every server takes an already-bound socket and a shutdown
//! future: `serve(listener, config, shutdown)`. Sockets are created by the caller inside the
//! host's network namespace; the one socket a server must create itself, FTP's passive data
//! listener, goes through a caller-supplied binder for the same reason. A bad client gets the
//! protocol's error reply or a closed connection; it never stops the server. [`Tracker`] counts
//! connections in progress so a run can wait until every server has finished with what the
//! clients sent before it checks files.

pub mod basic;
pub mod clients;
pub mod conn;
pub mod dhcp;
pub mod dns;
pub mod dump;
pub mod ftp;
pub mod http;
pub mod serve;
pub mod smtp;
pub mod tree;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// Counts connections being served, across every service of a run.
#[derive(Clone)]
pub struct Tracker {
    active: Arc<watch::Sender<usize>>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            active: Arc::new(watch::channel(0).0),
        }
    }
}

impl Tracker {
    /// Marks a connection as in progress until the guard is dropped.
    pub fn begin(&self) -> ConnectionGuard {
        self.active.send_modify(|n| *n += 1);
        ConnectionGuard {
            tracker: self.clone(),
        }
    }

    /// Waits until no connection is being served.
    pub async fn idle(&self) {
        let mut rx = self.active.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

tokio::task_local! {
    /// The tracker a server's accept loop counts its connections with (see [`tracked`]).
    static TRACKER: Tracker;
}

/// Runs a server future so that every connection its accept loop takes is counted by
/// `tracker`, without the protocol modules having to carry a tracker of their own.
pub async fn tracked<F: Future>(tracker: Tracker, server: F) -> F::Output {
    TRACKER.scope(tracker, server).await
}

/// A guard for one connection accepted by a server run under [`tracked`], or `None` outside.
pub(crate) fn track_connection() -> Option<ConnectionGuard> {
    TRACKER.try_with(Tracker::begin).ok()
}

pub struct ConnectionGuard {
    tracker: Tracker,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.tracker.active.send_modify(|n| *n -= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    #[tokio::test]
    async fn tracked_servers_count_their_connections_until_they_end() {
        let tracker = Tracker::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = smtp::SmtpConfig::new("mail.example.test", "/dev/null");
        let server = tokio::spawn(tracked(
            tracker.clone(),
            smtp::serve(listener, config, async {
                let _ = stopped.await;
            }),
        ));
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut banner = [0u8; 3];
        client.read_exact(&mut banner).await.unwrap();
        assert_eq!(&banner, b"220");
        assert_eq!(*tracker.active.borrow(), 1, "an open session is counted");
        client.write_all(b"QUIT\r\n").await.unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), tracker.idle())
            .await
            .expect("the session ends once the client has quit");
        stop.send(()).unwrap();
        server.await.unwrap();
    }
}
