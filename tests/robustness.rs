//! Every server keeps serving under 200 concurrent clients, 64 KiB lines, binary garbage,
//! half-closed and reset connections. Each test abuses a server, then checks that a normal
//! client still gets a normal answer.

mod kit;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::time::timeout;

use labctl::services::tree::{FileTree, MemTree};
use labctl::services::{dns, ftp, http, smtp};

const CLIENTS: usize = 200;
const LIMIT: Duration = Duration::from_secs(30);

/// Hundreds of sockets at once need more than the common soft limit of 1024 descriptors.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < 4096
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard.min(8192), hard);
    }
}

struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start<F, Fut>(serve: F) -> Server
where
    F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    raise_fd_limit();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(serve(listener, stopped));
    Server { addr, _stop: stop }
}

async fn stopped(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

/// Deterministic pseudo-random bytes (xorshift), including NUL, CR, LF and bytes >= 0x80.
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Runs `CLIENTS` sessions at once (session `n` is `session(n)`) and waits for all of them.
async fn concurrently<F, Fut>(session: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let sessions: Vec<_> = (0..CLIENTS).map(|n| tokio::spawn(session(n))).collect();
    for s in sessions {
        s.await.unwrap();
    }
}

/// All the server sends on `s` until it closes, within the limit.
async fn read_all(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `bytes` on a new connection, half-closes it, and returns all the server answers.
async fn half_closed(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s.shutdown().await.unwrap();
    read_all(s).await
}

/// A line-protocol client: reads whole reply lines.
struct LineClient {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl LineClient {
    async fn connect(addr: SocketAddr) -> Self {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        Self {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        timeout(LIMIT, self.reader.read_line(&mut line))
            .await
            .expect("reply in time")
            .unwrap();
        line
    }

    /// Reads a possibly multi-line reply (`250-...` continued until `250 `).
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let line = self.line().await;
            assert!(!line.is_empty(), "connection closed after {all:?}");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }
}

fn port_from_227(reply: &str) -> u16 {
    let inside = &reply[reply.find('(').unwrap() + 1..reply.find(')').unwrap()];
    let n: Vec<u16> = inside.split(',').map(|v| v.parse().unwrap()).collect();
    n[4] * 256 + n[5]
}

// ---------------------------------------------------------------- FTP

const README: &[u8] = b"Debian archive README\n";

async fn ftp_server() -> Server {
    let tree = MemTree::new([("debian/README", README)]).unwrap();
    let config = ftp::FtpConfig::new(Arc::new(tree));
    start(move |l, rx| ftp::serve(l, config, stopped(rx))).await
}

/// The ftp-by-hand lab: login, cd, PASV, compute the port, RETR, QUIT.
async fn ftp_session(addr: SocketAddr) {
    let mut c = LineClient::connect(addr).await;
    assert!(c.reply().await.starts_with("220 "));
    assert!(c.command("USER anonymous").await.starts_with("331 "));
    assert!(c.command("PASS anonymous").await.starts_with("230 "));
    assert!(c.command("CWD debian").await.starts_with("250 "));
    let pasv = c.command("PASV").await;
    assert!(
        pasv.starts_with("227 Entering Passive Mode (127,0,0,1,"),
        "{pasv}"
    );
    let mut data = TcpStream::connect(("127.0.0.1", port_from_227(&pasv)))
        .await
        .unwrap();
    assert!(c.command("RETR README").await.starts_with("150 "));
    let mut file = Vec::new();
    timeout(LIMIT, data.read_to_end(&mut file))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file, README);
    assert_eq!(c.reply().await, "226 Transfer complete.\r\n");
    assert_eq!(c.command("QUIT").await, "221 Goodbye.\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_serves_200_concurrent_clients() {
    let server = ftp_server().await;
    concurrently(|_| ftp_session(server.addr)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_answers_a_64k_line_and_goes_on() {
    let server = ftp_server().await;
    let mut c = LineClient::connect(server.addr).await;
    c.reply().await;
    let mut long = vec![b'A'; 64 * 1024 + 10];
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    assert_eq!(c.reply().await, "500 Command line too long.\r\n");
    assert_eq!(c.command("NOOP").await, "200 NOOP ok.\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_survives_garbage_half_close_and_reset() {
    let server = ftp_server().await;
    abuse(server.addr).await;
    // Half-closed: the commands sent before the FIN are still answered.
    let out = half_closed(server.addr, b"NOOP\r\nQUIT").await;
    assert_eq!(out, "220 (labctl FTP)\r\n200 NOOP ok.\r\n221 Goodbye.\r\n");
    ftp_session(server.addr).await;
}

/// Garbage, then a reset in the middle of a line, then a connection that half-closes at once.
async fn abuse(addr: SocketAddr) {
    for seed in 1..=5 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s.write_all(&garbage(16 * 1024, seed)).await;
        let _ = s.shutdown().await;
        let mut sink = Vec::new();
        let _ = timeout(LIMIT, s.read_to_end(&mut sink)).await;
    }
    let s = TcpStream::connect(addr).await.unwrap();
    let mut s2 = TcpStream::connect(addr).await.unwrap();
    s2.write_all(b"HALF A LI").await.unwrap();
    s2.set_zero_linger().unwrap();
    drop(s2);
    s.set_zero_linger().unwrap();
    drop(s);
    let mut s3 = TcpStream::connect(addr).await.unwrap();
    s3.shutdown().await.unwrap();
    let mut sink = Vec::new();
    let _ = timeout(LIMIT, s3.read_to_end(&mut sink)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_closes_an_idle_control_connection_with_421() {
    let mut config = ftp::FtpConfig::new(Arc::new(MemTree::empty()));
    config.idle_timeout = Duration::from_millis(200);
    let server = start(move |l, rx| ftp::serve(l, config, stopped(rx))).await;
    let out = read_all(TcpStream::connect(server.addr).await.unwrap()).await;
    assert_eq!(out, "220 (labctl FTP)\r\n421 Timeout.\r\n");
}

// ---------------------------------------------------------------- SMTP

async fn smtp_server(dir: &str) -> (Server, std::path::PathBuf) {
    let dir = kit::scratch(&format!("robust-{dir}"));
    let mailbox = dir.join("mbox");
    let _ = std::fs::remove_file(&mailbox);
    let config = smtp::SmtpConfig::new("mail.example.test", &mailbox);
    let server = start(move |l, rx| smtp::serve(l, config, stopped(rx))).await;
    (server, mailbox)
}

async fn smtp_session(addr: SocketAddr, n: usize) {
    let mut c = LineClient::connect(addr).await;
    assert!(c.reply().await.starts_with("220 "));
    assert!(
        c.command("EHLO client")
            .await
            .ends_with("250 ENHANCEDSTATUSCODES\r\n")
    );
    assert_eq!(c.command("MAIL FROM:<a@client>").await, "250 2.1.0 Ok\r\n");
    assert_eq!(
        c.command("RCPT TO:<b@example.test>").await,
        "250 2.1.5 Ok\r\n"
    );
    assert!(c.command("DATA").await.starts_with("354 "));
    let queued = c
        .command(&format!("Subject: {n}\r\n\r\nmessage {n}\r\n."))
        .await;
    assert!(queued.starts_with("250 2.0.0 Ok: queued as "), "{queued}");
    assert_eq!(c.command("QUIT").await, "221 2.0.0 Bye\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_serves_200_concurrent_clients_without_interleaving() {
    let (server, mailbox) = smtp_server("smtp200").await;
    concurrently(|n| smtp_session(server.addr, n)).await;
    let mbox = std::fs::read_to_string(&mailbox).unwrap();
    for n in 0..CLIENTS {
        assert!(
            mbox.contains(&format!("Subject: {n}\n\nmessage {n}\n\n")),
            "message {n} missing or interleaved"
        );
    }
    assert_eq!(mbox.matches("\nReturn-Path: <a@client>\n").count(), CLIENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_answers_a_64k_line_and_goes_on() {
    let (server, _) = smtp_server("smtp64k").await;
    let mut c = LineClient::connect(server.addr).await;
    c.reply().await;
    let mut long = b"HELO ".to_vec();
    long.extend(vec![b'x'; 64 * 1024]);
    long.extend_from_slice(b"\r\n");
    c.send(&long).await;
    assert_eq!(c.reply().await, "500 5.5.2 Error: line too long\r\n");
    assert_eq!(c.command("NOOP").await, "250 2.0.0 Ok\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_survives_garbage_half_close_and_reset() {
    let (server, _) = smtp_server("smtpabuse").await;
    abuse(server.addr).await;
    let out = half_closed(server.addr, b"NOOP\r\nQUIT").await;
    assert_eq!(
        out,
        "220 mail.example.test ESMTP labctl\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"
    );
    smtp_session(server.addr, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_closes_an_idle_connection_with_421() {
    let mut config = smtp::SmtpConfig::new("mail.example.test", "/dev/null");
    config.idle_timeout = Duration::from_millis(200);
    let server = start(move |l, rx| smtp::serve(l, config, stopped(rx))).await;
    let out = read_all(TcpStream::connect(server.addr).await.unwrap()).await;
    assert_eq!(
        out,
        "220 mail.example.test ESMTP labctl\r\n\
         421 4.4.2 mail.example.test Error: timeout exceeded\r\n"
    );
}

// ---------------------------------------------------------------- HTTP

const PAGE: &str = "<h1>lab</h1>\n";

async fn http_server() -> Server {
    let site: Arc<dyn FileTree> = Arc::new(MemTree::new([("index.html", PAGE)]).unwrap());
    let config = http::HttpConfig {
        sites: BTreeMap::from([("www.example.test".to_string(), site)]),
        default_site: None,
        server_name: "labctl".into(),
        date_header: true,
    };
    start(move |l, rx| http::serve(l, config, stopped(rx))).await
}

/// Sends one request with `Connection: close` and returns the whole response.
async fn http_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    read_all(s).await
}

async fn http_get(addr: SocketAddr) {
    let out = http_exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with(PAGE), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_serves_200_concurrent_clients() {
    let server = http_server().await;
    concurrently(|_| http_get(server.addr)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_a_64k_request_line_with_an_error() {
    let server = http_server().await;
    let mut request = b"GET /".to_vec();
    request.extend(vec![b'a'; 64 * 1024]);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: www.example.test\r\n\r\n");
    let out = http_exchange(server.addr, &request).await;
    assert!(out.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{out}");
    let mut request = b"GET / HTTP/1.1\r\nHost: www.example.test\r\nX-Big: ".to_vec();
    request.extend(vec![b'a'; 512 * 1024]);
    request.extend_from_slice(b"\r\n\r\n");
    let out = http_exchange(server.addr, &request).await;
    assert!(
        out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{out}"
    );
    http_get(server.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_survives_garbage_half_close_and_reset() {
    let server = http_server().await;
    abuse(server.addr).await;
    let out = http_exchange(server.addr, &garbage(4096, 42)).await;
    assert!(
        out.is_empty() || out.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{out}"
    );
    // Half-closed after a complete request: the response still arrives.
    let out = half_closed(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    http_get(server.addr).await;
}

// ---------------------------------------------------------------- DNS

const ZONE: &str = "$ORIGIN example.test.\n$TTL 60\n\
    @ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
    @ IN MX 10 mail\n\
    mail IN A 10.0.0.25\n";

fn dns_config() -> dns::DnsConfig {
    dns::DnsConfig {
        zones: vec![dns::Zone::parse(ZONE, None).unwrap()],
    }
}

fn mx_query(id: u16) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("example.test.").unwrap(),
        RecordType::MX,
    ));
    m.to_vec().unwrap()
}

async fn dns_tcp_query(addr: SocketAddr, id: u16) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let q = mx_query(id);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).await.unwrap();
    let mut len = [0u8; 2];
    timeout(LIMIT, s.read_exact(&mut len))
        .await
        .unwrap()
        .unwrap();
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body).await.unwrap();
    let r = Message::from_vec(&body).unwrap();
    assert_eq!(r.metadata.id, id);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_tcp_serves_200_concurrent_clients_and_survives_abuse() {
    let server = start(|l, rx| dns::serve_tcp(l, dns_config(), stopped(rx))).await;
    abuse(server.addr).await;
    // A length prefix announcing more than is ever sent, then a reset.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(&[0xff, 0xff, 1, 2, 3]).await.unwrap();
    s.set_zero_linger().unwrap();
    drop(s);
    concurrently(|id| dns_tcp_query(server.addr, id as u16)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_udp_survives_garbage_and_answers_200_clients() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(dns::serve_udp(socket, dns_config(), stopped(rx)));
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for seed in 1..=50 {
        let len = 1 + (seed as usize * 37) % 1400;
        client.send_to(&garbage(len, seed), addr).await.unwrap();
    }
    // Each garbage datagram gets FORMERR or nothing; drain whatever came back.
    let mut buf = vec![0u8; 65_535];
    while let Ok(Ok((n, _))) = timeout(Duration::from_millis(200), client.recv_from(&mut buf)).await
    {
        let r = Message::from_vec(&buf[..n]).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    }
    concurrently(|id| async move {
        let id = id as u16;
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.send_to(&mx_query(id), addr).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let (n, _) = timeout(LIMIT, s.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let r = Message::from_vec(&buf[..n]).unwrap();
        assert_eq!(r.metadata.id, id);
        assert_eq!(r.answers.len(), 1);
    })
    .await;
}
