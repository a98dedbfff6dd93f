//! `labctl serve KIND`: one of the servers on its own, in the current network namespace, until
//! Ctrl-C, for a person to try with the real clients.
//!
//! Contract: [`main`] binds the address it is given (a bind or file problem is an [`Error`]
//! before anything is served) and returns [`Verdict::Passed`] once Ctrl-C has stopped the
//! server. It enters no namespace: run it inside a lab host with `nsenter` to serve there.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;

use super::tree::DirTree;
use super::{dhcp, dns, dump, ftp, http, smtp};
use crate::verdict::{Error, Verdict};

/// The server `labctl serve` runs, with its options.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServeArgs {
    /// Like `nc -l -k -p PORT > FILE`: append what every client sends to a file
    Dump(DumpCliArgs),
    /// FTP with passive mode (PASV and EPSV), anonymous login
    Ftp(ftp::FtpCliArgs),
    /// SMTP, storing messages in an mbox file
    Smtp(smtp::SmtpCliArgs),
    /// HTTP/1.1 serving a directory
    Http(http::HttpCliArgs),
    /// DNS over UDP and TCP from RFC 1035 zone files
    Dns(dns::DnsCliArgs),
    /// DHCP on one interface (refused on the interface of the default route)
    Dhcp(dhcp::DhcpCliArgs),
}

/// `labctl serve dump --listen ADDR:PORT --file FILE`.
#[derive(Debug, Clone, clap::Args)]
pub struct DumpCliArgs {
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    #[arg(long)]
    pub file: PathBuf,
}

/// Errors at a server's command-line boundary, each led by the protocol's name.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{proto}: cannot serve root directory {path}")]
    Root {
        proto: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{proto}: cannot listen on {addr}")]
    Bind {
        proto: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
}

impl ServeError {
    /// The error for a socket of `proto` that could not be bound to `addr`.
    pub fn bind(proto: &'static str, addr: SocketAddr) -> impl Fn(io::Error) -> ServeError + Copy {
        move |source| ServeError::Bind {
            proto,
            addr,
            source,
        }
    }
}

/// Binds the TCP listener of a `labctl serve` server.
pub async fn listen(proto: &'static str, addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(ServeError::bind(proto, addr))
}

/// Opens the directory a `labctl serve` server serves.
pub fn root(proto: &'static str, path: &Path) -> Result<DirTree, ServeError> {
    DirTree::new(path).map_err(|source| ServeError::Root {
        proto,
        path: path.to_path_buf(),
        source,
    })
}

/// Runs `labctl serve`. See the module documentation.
pub fn main(args: ServeArgs) -> Result<Verdict, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::msg(format!("cannot start the runtime: {e}")))?;
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    runtime.block_on(async move {
        match args {
            ServeArgs::Dump(DumpCliArgs { listen, file }) => {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| Error::msg(format!("cannot listen on {listen}: {e}")))?;
                eprintln!(
                    "labctl: dump server on {listen}, appending to {}",
                    file.display()
                );
                dump::serve(listener, file, Default::default(), ctrl_c).await?
            }
            ServeArgs::Ftp(args) => ftp::serve_cli(args, ctrl_c).await?,
            ServeArgs::Smtp(args) => smtp::serve_cli(args, ctrl_c).await?,
            ServeArgs::Http(args) => http::serve_cli(args, ctrl_c).await?,
            ServeArgs::Dns(args) => dns::serve_cli(args, ctrl_c).await?,
            ServeArgs::Dhcp(args) => dhcp::serve_cli(args, ctrl_c).await?,
        }
        Ok(Verdict::Passed)
    })
}
