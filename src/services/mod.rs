//! Services: in-process servers bound inside their host's namespace.
//!
//! Contract: every server takes an already-bound socket (created inside the host, so it belongs
//! to the host's namespace) and a shutdown signal, and serves until the signal fires. A bad
//! client gets the protocol's error reply or a closed connection; it never stops the server.
//! [`Tracker`] counts connections in progress so the run can wait until every server has
//! finished with what the clients sent before it checks files.

pub mod dump;

use std::sync::Arc;

use tokio::sync::watch;

/// Counts connections being served, across every service of a run.
#[derive(Clone)]
pub struct Tracker {
    active: Arc<watch::Sender<usize>>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker { active: Arc::new(watch::channel(0).0) }
    }
}

impl Tracker {
    /// Marks a connection as in progress until the guard is dropped.
    pub fn begin(&self) -> ConnectionGuard {
        self.active.send_modify(|n| *n += 1);
        ConnectionGuard { tracker: self.clone() }
    }

    /// Waits until no connection is being served.
    pub async fn idle(&self) {
        let mut rx = self.active.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

pub struct ConnectionGuard {
    tracker: Tracker,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.tracker.active.send_modify(|n| *n -= 1);
    }
}
