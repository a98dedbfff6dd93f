//! The protocol parts of a plan: the files a service serves and the built-in client steps
//! (a telnet line dialogue, FTP, SMTP, HTTP, a DNS query), validated by `parse::protocol`.

use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::{StepOutcome, Target};
use crate::services::clients::ftp::FtpStep;

/// Files served by FTP or HTTP: normalised relative paths and their bytes, sorted by path.
/// Inline files from the scenario and files read from a directory beside it, read during
/// validation so that a missing file is reported before anything runs.
pub type FileSet = Vec<(String, Vec<u8>)>;

/// One line of a telnet dialogue: the line to send (CRLF added), then one reply line per
/// expected prefix, in order. A multi-line FTP/SMTP reply (`230-...` up to `230 ...`) counts
/// as one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogueLine {
    pub send: String,
    pub expect: Vec<String>,
}

/// Where an SMTP step delivers: a host, or the mail host of a domain found by an MX query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailServer {
    Direct(Target),
    /// Ask `resolver` (port 53, UDP) for the MX of `domain`, then for the address of the
    /// preferred mail host, and deliver there on `port`.
    Mx {
        domain: String,
        resolver: Target,
        port: u16,
    },
}

#[derive(Debug, Clone)]
pub enum ProtocolStep {
    /// A telnet session typed line by line: wait for the banner, then each line and its replies.
    Dialogue {
        target: Target,
        /// The prefix the server's first line must start with (`220`), if it speaks first.
        banner: Option<String>,
        lines: Vec<DialogueLine>,
        /// After each `227 (h1,h2,h3,h4,p1,p2)` reply, open a second connection to port
        /// p1*256+p2 of that address and read it to its end, as a person does by hand.
        follow_pasv: bool,
        timeout: Duration,
    },
    /// The FTP client in passive mode.
    Ftp {
        target: Target,
        user: String,
        password: String,
        commands: Vec<FtpStep>,
        timeout: Duration,
    },
    Smtp {
        server: MailServer,
        helo: String,
        from: String,
        to: Vec<String>,
        body: String,
        timeout: Duration,
    },
    /// One `GET`; the `Host` header and path come from the URL, the connection goes to `target`.
    Http {
        url: String,
        target: Target,
        host_header: String,
        path: String,
        timeout: Duration,
    },
    Dns {
        server: Target,
        name: String,
        qtype: RecordType,
        tcp: bool,
        timeout: Duration,
    },
}

impl ProtocolStep {
    /// The outcome a step must have unless the scenario says otherwise: a dialogue is a telnet
    /// session (`connected`), a protocol client finishing its session is `ok`.
    pub fn default_outcome(&self) -> StepOutcome {
        match self {
            ProtocolStep::Dialogue { .. } => StepOutcome::Connected,
            _ => StepOutcome::Ok,
        }
    }

    /// The outcomes a scenario may expect of this step.
    pub fn outcomes(&self) -> Vec<(&'static str, StepOutcome)> {
        let mut all = StepOutcome::CLIENT.to_vec();
        if !matches!(self, ProtocolStep::Dialogue { .. }) {
            all.retain(|(_, o)| *o != StepOutcome::Connected);
            all.insert(0, ("ok", StepOutcome::Ok));
        }
        all.push(("failed", StepOutcome::Failed));
        all
    }
}
