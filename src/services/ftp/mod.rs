//! FTP server: the control dialogue as a pure state machine ([`session`]), the replies and
//! follow-up actions it returns ([`reply`]), and passive-mode data connections in a thin tokio
//! shell ([`shell`]). This file holds the configuration shared by all three.
//!
//! The dialogue is written by hand rather than taken from a library because it is the lesson:
//! students type `USER`, `PASS`, `PWD`, `CWD`, `PASV` and `RETR` over telnet, compute the data
//! port from the `227` reply, and read the reply codes on the wire. Every reply here is the
//! one a mainstream server (vsftpd) sends, so what they see in the lab is what they see in
//! the field.
//!
//! Contract:
//! - [`Session`] turns one control line into a [`Response`]: the reply text and what the shell
//!   must do next ([`Then`]). It does no I/O except through its [`FileTree`], so it is tested
//!   with strings alone.
//! - [`serve`] takes an already-bound control listener. Data listeners are bound through the
//!   configured [`Binder`], because a socket lands in the network namespace of the thread that
//!   creates it and a tokio worker may sit in another one. Passive ports are taken in order
//!   from [`FtpConfig::passive_ports`], first free one, so a lab's data port is the same on
//!   every run.
//! - Only passive mode exists (`PASV`, `EPSV`); `PORT` and `EPRT` get `502`. A data connection
//!   is accepted only from the control connection's peer address.
//!
//! - A control connection idle for [`FtpConfig::idle_timeout`] gets `421 Timeout.` and is
//!   closed, as vsftpd does, so abandoned sessions do not pile up.
//!
//! Invariants: no peer input panics or stops the server; one connection's error ends that
//! connection only; a control line longer than [`super::conn::MAX_LINE`] gets `500` and the session goes on.
//! File bytes are sent as stored in both `TYPE A` and `TYPE I` (as vsftpd does by default), so
//! a file arrives byte for byte whatever the client asked for.

mod reply;
mod session;
mod shell;

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use super::tree::FileTree;

pub use reply::{Response, Then, TransferError};
pub use session::Session;
pub use shell::{FtpCliArgs, serve, serve_cli};

/// Binds a data listener at an address, in the network namespace of the control connection.
pub type Binder = Arc<dyn Fn(SocketAddr) -> io::Result<std::net::TcpListener> + Send + Sync>;

/// A [`Binder`] for the current network namespace (`labctl serve ftp`, tests).
pub fn std_binder() -> Binder {
    Arc::new(std::net::TcpListener::bind)
}

/// The first passive port tried; 40000 is `(156,64)` in a `227` reply.
pub const DEFAULT_PASSIVE_PORTS: RangeInclusive<u16> = 40000..=40999;

/// What an FTP server serves and how.
#[derive(Clone)]
pub struct FtpConfig {
    pub tree: Arc<dyn FileTree>,
    /// Named users and their passwords; a wrong password gets `530`.
    pub users: BTreeMap<String, String>,
    /// `anonymous` and `ftp` log in with any password.
    pub allow_anonymous: bool,
    /// Whether `STOR` may write into the tree.
    pub allow_upload: bool,
    /// The text of the `220` greeting.
    pub banner: String,
    /// Passive data ports, tried in order.
    pub passive_ports: RangeInclusive<u16>,
    /// The address announced in `227` replies; by default the control connection's own local
    /// address, which is the host's address on the lab link.
    pub passive_address: Option<Ipv4Addr>,
    pub binder: Binder,
    /// How long a transfer waits for the client to open the data connection.
    pub data_timeout: Duration,
    /// The largest upload accepted, in bytes.
    pub max_upload: usize,
    /// A control connection silent this long gets `421` and is closed.
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for FtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FtpConfig")
            .field("tree", &self.tree)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("allow_anonymous", &self.allow_anonymous)
            .field("allow_upload", &self.allow_upload)
            .field("passive_ports", &self.passive_ports)
            .field("passive_address", &self.passive_address)
            .finish_non_exhaustive()
    }
}

impl FtpConfig {
    /// Anonymous access to `tree`, uploads allowed, passive ports from 40000, data listeners
    /// bound in the current network namespace.
    pub fn new(tree: Arc<dyn FileTree>) -> Self {
        Self {
            tree,
            users: BTreeMap::new(),
            allow_anonymous: true,
            allow_upload: true,
            banner: "(labctl FTP)".to_string(),
            passive_ports: DEFAULT_PASSIVE_PORTS,
            passive_address: None,
            binder: std_binder(),
            data_timeout: Duration::from_secs(30),
            max_upload: 64 << 20,
            idle_timeout: Duration::from_secs(300),
        }
    }
}
