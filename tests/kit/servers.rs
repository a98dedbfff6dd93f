//! A labctl server (any of `labctl::services`) running in-process on loopback, on its own
//! runtime thread and a free port; dropping the handle shuts it down and joins the thread.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// Resolves when the test is done with the server.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server running on its own runtime thread; dropping it shuts the server down.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `serve` on a runtime of its own thread until the handle for `addr` is dropped.
fn running<F, Fut>(addr: SocketAddr, serve: F) -> Running
where
    F: FnOnce(Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown: Shutdown = Box::pin(async move {
        let _ = stopped.await;
    });
    let thread = std::thread::spawn(move || runtime().block_on(serve(shutdown)));
    Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// Starts a TCP server on 127.0.0.1 on a free port.
pub fn start_tcp<F, Fut>(serve: F) -> Running
where
    F: FnOnce(tokio::net::TcpListener, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    running(addr, move |shutdown| async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        serve(listener, shutdown).await;
    })
}

/// Starts a UDP + TCP server pair on the same free loopback port.
pub fn start_udp_tcp<F, Fut>(serve: F) -> Running
where
    F: FnOnce(tokio::net::UdpSocket, tokio::net::TcpListener, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    // Find a port free for both protocols.
    let (udp, tcp) = loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp loopback");
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            break (udp, tcp);
        }
    };
    udp.set_nonblocking(true).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let addr = tcp.local_addr().unwrap();
    running(addr, move |shutdown| async move {
        let udp = tokio::net::UdpSocket::from_std(udp).unwrap();
        let tcp = tokio::net::TcpListener::from_std(tcp).unwrap();
        serve(udp, tcp, shutdown).await;
    })
}
