//! Services: in-process protocol servers bound inside a lab host's network namespace, and the
//! built-in protocol clients that steps drive against them.
//!
//! Each protocol is a pure state machine (bytes or lines in, replies out) in its own file, with
//! a thin tokio shell around it. Every server takes an already-bound socket and a shutdown
//! future: `serve(listener, config, shutdown)`. Sockets are created by the caller inside the
//! host's network namespace; the one socket a server must create itself, FTP's passive data
//! listener, goes through a caller-supplied binder for the same reason. A bad client gets the
//! protocol's error reply or a closed connection; it never stops the server. [`Tracker`] counts
//! connections in progress so a run can wait until every server has finished with what the
//! clients sent before it checks files.

pub mod clients;
pub mod conn;
pub mod dns;
pub mod dump;
pub mod ftp;
pub mod http;
pub mod smtp;
pub mod start;
pub mod tree;

pub use start::{StartError, Started, start};

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
