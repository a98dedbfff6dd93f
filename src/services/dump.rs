//! tcp-dump: the in-process `nc -l -k -p PORT > FILE`. Accepts connections on a port and
//! appends everything each one sends to a file, connection after connection. It never sends a
//! byte, and closes its side when the client closes its own, as netcat does.

use std::future::Future;
use std::io;
use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::conn::accept_loop;
use super::{Tracker, tracked};

/// Serves until `shutdown` completes. Each received chunk is appended with one `write` on a
/// file opened with O_APPEND, so concurrent clients never tear each other's chunks.
pub async fn serve(
    listener: TcpListener,
    file: PathBuf,
    tracker: Tracker,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let connections = accept_loop(listener, shutdown, move |stream, _peer| {
        let file = file.clone();
        async move {
            let _ = dump_connection(stream, file).await;
        }
    });
    tracked(tracker, connections).await;
    Ok(())
}

async fn dump_connection(mut stream: TcpStream, file: PathBuf) -> io::Result<()> {
    let mut out = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .await?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).await?;
    }
    out.flush().await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_connection_after_connection() {
        let dir = std::env::temp_dir().join(format!("labctl-dump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("dump.txt");
        let _ = std::fs::remove_file(&file);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tracker = Tracker::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, file.clone(), tracker.clone(), async {
            let _ = stopped.await;
        }));
        for message in ["first\r\n", "second\r\n"] {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(message.as_bytes()).await.unwrap();
            client.shutdown().await.unwrap();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty(), "the dump server never sends");
        }
        tracker.idle().await;
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "first\r\nsecond\r\n"
        );
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
