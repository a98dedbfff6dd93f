//! The FTP socket shell: accepts control connections, feeds their lines to a [`Session`] and
//! does what each [`Response`](super::Response) asks (bind a passive listener, send or receive a file).
//!
//! Contract: a data connection is accepted only from the control connection's peer address
//! and within [`FtpConfig::data_timeout`]; a passive listener is bound through the configured
//! binder, first free port of the range. One connection's error ends that connection only.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::super::conn::{LineReader, accept_loop};
use super::super::serve::{ServeError, listen, root};
use super::super::tree::{FileTree, MemTree};
use super::{FtpConfig, Session, Then, TransferError};

/// Serves FTP on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, config: FtpConfig, shutdown: impl Future<Output = ()>) {
    let config = Arc::new(config);
    accept_loop(listener, shutdown, move |stream, peer| {
        let config = config.clone();
        async move {
            // A failed connection concerns only its own client.
            let _ = handle_connection(stream, peer, config).await;
        }
    })
    .await;
}

async fn handle_connection(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<FtpConfig>,
) -> io::Result<()> {
    let local = stream.local_addr()?;
    let (read_half, mut write_half) = stream.into_split();
    let mut lines = LineReader::new(read_half);
    let mut session = Session::new(config.clone(), local.ip());
    let mut passive: Option<TcpListener> = None;
    write_half.write_all(session.greeting().as_bytes()).await?;
    loop {
        let Ok(next) = tokio::time::timeout(config.idle_timeout, lines.next_line()).await else {
            write_half.write_all(b"421 Timeout.\r\n").await?;
            break;
        };
        let Some(line) = next? else { break };
        let response = session.handle(&line);
        write_half.write_all(response.reply.as_bytes()).await?;
        let follow_up = match response.then {
            Then::Continue => continue,
            Then::Close => break,
            Then::Passive { extended } => {
                // Dropping the previous listener closes it: one pending transfer at a time.
                drop(passive.take());
                let bound = bind_passive(&config, local.ip());
                let addr = bound.as_ref().map(|(_, addr)| *addr).map_err(clone_io);
                passive = bound.ok().map(|(listener, _)| listener);
                session.passive_opened(addr, extended)
            }
            Then::Send(data) => {
                let result = send_data(passive.take(), peer.ip(), &data, config.data_timeout).await;
                session.transfer_done(result)
            }
            Then::Receive(path) => {
                let result = receive_data(
                    passive.take(),
                    peer.ip(),
                    config.max_upload,
                    config.data_timeout,
                )
                .await;
                session.stored(&path, result)
            }
        };
        write_half.write_all(follow_up.as_bytes()).await?;
    }
    write_half.shutdown().await
}

fn clone_io(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// Binds the first free port of the passive range on the control connection's local address.
fn bind_passive(config: &FtpConfig, ip: IpAddr) -> io::Result<(TcpListener, SocketAddr)> {
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "passive port range exhausted");
    for port in config.passive_ports.clone() {
        match (config.binder)(SocketAddr::new(ip, port)) {
            Ok(listener) => {
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                return Ok((TcpListener::from_std(listener)?, addr));
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Accepts the data connection from the control peer, ignoring connections from elsewhere.
async fn accept_data(
    listener: Option<TcpListener>,
    peer_ip: IpAddr,
    timeout: Duration,
) -> Result<TcpStream, TransferError> {
    let listener = listener.ok_or(TransferError::NoConnection)?;
    let wait = async {
        loop {
            match listener.accept().await {
                Ok((stream, from)) if from.ip() == peer_ip => return stream,
                _ => continue,
            }
        }
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| TransferError::NoConnection)
}

async fn send_data(
    listener: Option<TcpListener>,
    peer_ip: IpAddr,
    data: &[u8],
    timeout: Duration,
) -> Result<(), TransferError> {
    let mut stream = accept_data(listener, peer_ip, timeout).await?;
    stream
        .write_all(data)
        .await
        .map_err(|_| TransferError::Aborted)?;
    stream.shutdown().await.map_err(|_| TransferError::Aborted)
}

async fn receive_data(
    listener: Option<TcpListener>,
    peer_ip: IpAddr,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, TransferError> {
    let mut stream = accept_data(listener, peer_ip, timeout).await?;
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| TransferError::Aborted)?;
        if n == 0 {
            return Ok(data);
        }
        if data.len() + n > max {
            return Err(TransferError::TooLarge);
        }
        data.extend_from_slice(&chunk[..n]);
    }
}

/// `labctl serve ftp --listen ADDR:PORT [--root DIR] [--read-only]`.
#[derive(Debug, Clone, clap::Args)]
pub struct FtpCliArgs {
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Directory to serve; without it, an empty writable tree in memory
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Refuse uploads
    #[arg(long)]
    pub read_only: bool,
}

/// Binds `args.listen` in the current namespace and serves until `shutdown` completes.
pub async fn serve_cli(
    args: FtpCliArgs,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let tree: Arc<dyn FileTree> = match &args.root {
        Some(dir) => Arc::new(root("ftp", dir)?),
        None => Arc::new(MemTree::empty()),
    };
    let mut config = FtpConfig::new(tree);
    config.allow_upload = !args.read_only;
    let listener = listen("ftp", args.listen).await?;
    serve(listener, config, shutdown).await;
    Ok(())
}
