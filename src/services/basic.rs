//! The two smallest TCP servers a lesson about TCP itself needs:
//!
//! - tcp-echo sends back everything it receives and closes once the client has closed its
//!   side: the client closes first.
//! - tcp-banner writes a banner (possibly nothing) and closes at once: the server closes
//!   first, as a server that ends the session or a TCP-wrappers refusal after the handshake.
//!
//! Both take an already-bound listener and a shutdown future, like every labctl server.

use std::future::Future;
use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::conn::accept_loop;
use super::{Tracker, tracked};

/// What a connection gets.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Echo,
    Banner(Vec<u8>),
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    behaviour: Behaviour,
    tracker: Tracker,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let connections = accept_loop(listener, shutdown, move |stream, _peer| {
        let behaviour = behaviour.clone();
        async move {
            let _ = match behaviour {
                Behaviour::Echo => echo(stream).await,
                Behaviour::Banner(banner) => banner_then_close(stream, &banner).await,
            };
        }
    });
    tracked(tracker, connections).await;
    Ok(())
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
    }
    stream.shutdown().await
}

async fn banner_then_close(mut stream: TcpStream, banner: &[u8]) -> io::Result<()> {
    stream.write_all(banner).await?;
    stream.shutdown().await?;
    // Read until the client closes too, so the close is an orderly FIN exchange and not a
    // reset for unread data.
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exchange(behaviour: Behaviour, send: &[u8]) -> Vec<u8> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, behaviour, Tracker::default(), async {
            let _ = stopped.await;
        }));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(send).await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        let _ = stop.send(());
        server.await.unwrap().unwrap();
        got
    }

    #[tokio::test]
    async fn echo_sends_everything_back() {
        assert_eq!(exchange(Behaviour::Echo, b"hello\r\n").await, b"hello\r\n");
    }

    #[tokio::test]
    async fn banner_then_close_sends_only_the_banner() {
        let got = exchange(Behaviour::Banner(b"220 hi\r\n".to_vec()), b"ignored").await;
        assert_eq!(got, b"220 hi\r\n");
        assert!(
            exchange(Behaviour::Banner(Vec::new()), b"x")
                .await
                .is_empty()
        );
    }
}
