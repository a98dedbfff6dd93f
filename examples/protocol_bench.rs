//! The protocol server benchmark behind `cargo xtask bench servers`.
//!
//! `protocol_bench [CLIENTS] [SECONDS]` starts labctl's SMTP and HTTP servers in-process on
//! loopback (real kernel TCP, no namespace needed) and drives each with CLIENTS concurrent
//! clients (default 50) for SECONDS (default 3):
//!
//! - SMTP: each client opens a session (banner, `HELO`), runs mail transactions one after the
//!   other (`MAIL FROM`, `RCPT TO`, `DATA`, a 200-byte message, `.`, waiting for each reply),
//!   and starts a new session after 10 transactions; a transaction counts once its `250` has
//!   arrived, which means the message is in the mailbox file.
//! - HTTP: each client keeps one connection open and sends `GET /` requests one after the
//!   other (like `wrk -c CLIENTS`), reading each 1 KiB response whole.
//!
//! It prints transactions per second for each.

// The test kit's scratch directories (tests/kit), shared with the tests; the bench needs no
// scratch file.
#[path = "../tests/kit/scratch.rs"]
#[allow(dead_code)]
mod scratch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use labctl::services::http::{HttpConfig, serve as serve_http};
use labctl::services::smtp::{SmtpConfig, serve as serve_smtp};
use labctl::services::tree::MemTree;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clients: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let duration = Duration::from_secs(seconds);
        let smtp = bench_smtp(clients, duration).await;
        println!(
            "SMTP: {clients} concurrent clients, {seconds} s: {:.0} mail transactions/s ({} messages stored)",
            smtp.0, smtp.1
        );
        let http = bench_http(clients, duration).await;
        println!(
            "HTTP: {clients} concurrent keep-alive clients, {seconds} s: {:.0} requests/s ({} responses)",
            http.0, http.1
        );
    });
}

/// Runs `clients` copies of `client` until `duration` has passed; returns rate and count.
async fn drive<F, Fut>(clients: usize, duration: Duration, client: F) -> (f64, u64)
where
    F: Fn(Arc<AtomicU64>, Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(client(done.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(duration).await;
    let counted = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        if let Ok(Err(e)) = task.await {
            eprintln!("a client failed: {e}");
            std::process::exit(1);
        }
    }
    (counted as f64 / elapsed.as_secs_f64(), counted)
}

async fn bench_smtp(clients: usize, duration: Duration) -> (f64, u64) {
    let dir = scratch::scratch("bench");
    let mailbox = dir.join("mailbox");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_smtp(
        listener,
        SmtpConfig::new("mail.example.test", &mailbox),
        async {
            let _ = stopped.await;
        },
    ));
    let body = format!("Subject: bench\r\n\r\n{}\r\n.\r\n", "x".repeat(180));
    let result = drive(clients, duration, move |done, stop| {
        let body = body.clone();
        async move {
            while !stop.load(Ordering::Relaxed) {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                expect(&mut r, "220").await?;
                w.write_all(b"HELO bench.example.test\r\n").await?;
                expect(&mut r, "250").await?;
                for _ in 0..10 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    w.write_all(b"MAIL FROM:<a@example.test>\r\n").await?;
                    expect(&mut r, "250").await?;
                    w.write_all(b"RCPT TO:<b@example.test>\r\n").await?;
                    expect(&mut r, "250").await?;
                    w.write_all(b"DATA\r\n").await?;
                    expect(&mut r, "354").await?;
                    w.write_all(body.as_bytes()).await?;
                    expect(&mut r, "250").await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                w.write_all(b"QUIT\r\n").await?;
                expect(&mut r, "221").await?;
            }
            Ok(())
        }
    })
    .await;
    let _ = stop_server.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Reads one reply (all lines of a multi-line one) and checks its code.
async fn expect<R: AsyncBufReadExt + Unpin>(r: &mut R, code: &str) -> Result<(), Error> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Err("server closed".into());
        }
        if !line.starts_with(code) {
            return Err(format!("expected {code}, got {line:?}").into());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

async fn bench_http(clients: usize, duration: Duration) -> (f64, u64) {
    let page = "<p>".to_string() + &"x".repeat(1017) + "\n";
    let tree = MemTree::new([("index.html", page.clone())]).expect("tree");
    let mut config = HttpConfig::single(Arc::new(tree));
    config.date_header = true;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_http(listener, config, async {
        let _ = stopped.await;
    }));
    let body_len = page.len();
    let result = drive(clients, duration, move |done, stop| async move {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        let mut body = vec![0u8; body_len];
        while !stop.load(Ordering::Relaxed) {
            w.write_all(b"GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
                .await?;
            let mut length = None;
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Err("server closed".into());
                }
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse::<usize>().ok();
                }
            }
            if length != Some(body_len) {
                return Err(format!("unexpected content-length {length:?}").into());
            }
            r.read_exact(&mut body).await?;
            done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })
    .await;
    let _ = stop_server.send(());
    let _ = server.await;
    result
}
