//! What the FTP state machine answers: the reply text of one control line and the action the
//! socket shell must take before the dialogue goes on.
//!
//! Contract: a [`Response`] carries complete reply lines (each ending in CR LF) or none, when
//! the reply comes only after the shell has done [`Then`]; [`TransferError`] is how the shell
//! reports a data transfer that did not complete.

/// What the shell does after writing a [`Response`]'s reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Read the next command.
    Continue,
    /// Close the control connection.
    Close,
    /// Bind a passive data listener and report the outcome with [`Session::passive_opened`](super::session::Session::passive_opened).
    Passive { extended: bool },
    /// Accept the data connection, send these bytes, close it, then report with
    /// [`Session::transfer_done`](super::session::Session::transfer_done).
    Send(Vec<u8>),
    /// Accept the data connection, read it to its end, then hand the bytes to
    /// [`Session::stored`](super::session::Session::stored) for this path.
    Receive(String),
}

/// The reply to one control line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Complete reply lines, each ending in `\r\n`; empty when the reply comes after the action.
    pub reply: String,
    pub then: Then,
}

impl Response {
    pub(super) fn reply(code: u16, text: &str) -> Self {
        Self {
            reply: format!("{code} {text}\r\n"),
            then: Then::Continue,
        }
    }

    /// No reply yet: it comes once the shell has done `then`.
    pub(super) fn after(then: Then) -> Self {
        Self {
            reply: String::new(),
            then,
        }
    }

    pub(super) fn then(mut self, then: Then) -> Self {
        self.then = then;
        self
    }
}

/// Why a data transfer did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// The client never opened the data connection.
    NoConnection,
    /// The data connection broke during the transfer.
    Aborted,
    /// An upload exceeded [`FtpConfig::max_upload`](super::FtpConfig::max_upload).
    TooLarge,
}
