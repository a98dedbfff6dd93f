//! services stage: in-process protocol servers bound inside a lab host's network namespace, and
//! the built-in protocol clients that steps drive against them.
//!
//! Each protocol is a pure state machine (bytes or lines in, replies out) in its own file, with
//! a thin tokio shell around it. Every server takes an already-bound socket and a shutdown
//! future: `serve(listener, config, shutdown)`. Sockets are created by the caller inside the
//! host's network namespace; the one socket a server must create itself, FTP's passive data
//! listener, goes through a caller-supplied binder for the same reason.

pub mod clients;
pub mod conn;
pub mod dns;
pub mod ftp;
pub mod http;
pub mod smtp;
pub mod tree;
