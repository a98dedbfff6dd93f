//! The built-in clients against labctl's own servers on loopback: the lab sessions end to end,
//! with their transcripts and outcomes, plus the outcomes of a refused or silent server.

mod kit;

use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::oneshot;

use labctl::services::clients::{self, Direction, SessionOutcome, direct_connect};
use labctl::services::tree::MemTree;
use labctl::services::{dns, ftp, http, smtp};

const T: Duration = Duration::from_secs(10);

async fn listener() -> (TcpListener, std::net::SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_client_lab_session() {
    let (l, addr) = listener().await;
    let tree = MemTree::new([("debian/README", "Debian archive\n")]).unwrap();
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(ftp::serve(l, ftp::FtpConfig::new(Arc::new(tree)), async {
        let _ = rx.await;
    }));
    use clients::ftp::{FtpScript, FtpStep};
    let script = FtpScript::anonymous(vec![
        FtpStep::Pwd,
        FtpStep::Cd("debian".into()),
        FtpStep::Ls(None),
        FtpStep::Get("README".into()),
    ]);
    let report = clients::ftp::run(&direct_connect(), addr, &script, T).await;
    assert_eq!(
        report.report.outcome,
        SessionOutcome::Completed,
        "{}",
        report.report.transcript_text()
    );
    assert_eq!(report.directories, ["/"]);
    assert!(
        report.listings[0].ends_with(" 15 Jan  1  2024 README\r\n"),
        "{:?}",
        report.listings
    );
    assert_eq!(report.files["README"], b"Debian archive\n");
    assert_eq!(report.data_addrs.len(), 2);
    let text = report.report.transcript_text();
    let port = report.data_addrs[1].port();
    kit::assert_contains(
        &text,
        &[
            &format!(
                "<- 227 Entering Passive Mode (127,0,0,1,{},{}).\n== data connection to 127.0.0.1:{port}\n",
                port >> 8,
                port & 0xff
            ),
            "-> RETR README\n<- 150 Opening BINARY mode data connection for README (15 bytes).\n",
        ],
    );
    assert!(text.ends_with("-> QUIT\n<- 221 Goodbye.\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_client_reports_a_missing_file() {
    let (l, addr) = listener().await;
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(ftp::serve(
        l,
        ftp::FtpConfig::new(Arc::new(MemTree::empty())),
        async {
            let _ = rx.await;
        },
    ));
    let script =
        clients::ftp::FtpScript::anonymous(vec![clients::ftp::FtpStep::Get("nope".into())]);
    let report = clients::ftp::run(&direct_connect(), addr, &script, T).await;
    assert_eq!(
        report.report.outcome,
        SessionOutcome::Unexpected {
            step: "RETR nope".into(),
            expected: "125 or 150".into(),
            got: "550 Failed to open file.".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_client_lab_session() {
    let (l, addr) = listener().await;
    let dir = kit::scratch("smtp-client");
    let mailbox = dir.join("mbox");
    let _ = std::fs::remove_file(&mailbox);
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(smtp::serve(
        l,
        smtp::SmtpConfig::new("mail.example.test", &mailbox),
        async {
            let _ = rx.await;
        },
    ));
    let script = clients::smtp::MailScript {
        helo: "client.example.test".into(),
        ehlo: false,
        from: "student@client.example.test".into(),
        to: vec!["teacher@example.test".into()],
        message: "Subject: lab\n\n.dot line\nbye\n".into(),
    };
    let report = clients::smtp::run(&direct_connect(), addr, &script, T).await;
    assert_eq!(
        report.report.outcome,
        SessionOutcome::Completed,
        "{}",
        report.report.transcript_text()
    );
    assert_eq!(
        report.accepted.as_deref(),
        Some("250 2.0.0 Ok: queued as 00000001")
    );
    let text = report.report.transcript_text();
    assert!(text.contains("-> DATA\n<- 354 End data with <CR><LF>.<CR><LF>\n-> Subject: lab\n->\n-> ..dot line\n-> bye\n-> .\n<- 250 "), "{text}");
    let mbox = std::fs::read_to_string(&mailbox).unwrap();
    assert!(
        mbox.ends_with("Subject: lab\n\n.dot line\nbye\n\n"),
        "{mbox}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_client_lab_request() {
    let (l, addr) = listener().await;
    let site = MemTree::new([("index.html", "<h1>hi</h1>\n")]).unwrap();
    let mut config = http::HttpConfig::single(Arc::new(site));
    config.date_header = false;
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(http::serve(l, config, async {
        let _ = rx.await;
    }));
    let request = clients::http::HttpRequest::get("www.example.test", "/");
    let report = clients::http::run(&direct_connect(), addr, &request, T).await;
    assert_eq!(report.report.outcome, SessionOutcome::Completed);
    assert_eq!(report.status, Some(200));
    assert_eq!(report.body, b"<h1>hi</h1>\n");
    assert_eq!(
        report.report.transcript_text(),
        format!(
            "== connected to {addr}\n-> GET / HTTP/1.1\n-> Host: www.example.test\n->\n\
             <- HTTP/1.1 200 OK\n<- server: labctl\n<- content-type: text/html; charset=utf-8\n\
             <- content-length: 12\n<-\n== body: 12 bytes\n"
        )
    );
    let missing = clients::http::HttpRequest::get("www.example.test", "/nope");
    let report = clients::http::run(&direct_connect(), addr, &missing, T).await;
    assert_eq!(report.status, Some(404));
}

const ZONE: &str = "$ORIGIN example.test.\n$TTL 3600\n\
    @ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
    @ IN MX 10 mail\n\
    mail IN A 10.0.0.25\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_client_over_udp_and_tcp() {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = udp.local_addr().unwrap().port();
    let tcp = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let config = dns::DnsConfig {
        zones: vec![dns::Zone::parse(ZONE, None).unwrap()],
    };
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(dns::serve(udp, tcp, config, async {
        let _ = rx.await;
    }));
    use clients::dns::{DnsQuery, Via, query};
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let report = query(
        Via::Udp(&socket),
        addr,
        &DnsQuery::new("example.test", RecordType::MX, 4660),
        T,
    )
    .await;
    assert_eq!(report.report.outcome, SessionOutcome::Completed);
    assert_eq!(report.status.as_deref(), Some("NOERROR"));
    assert_eq!(
        report.answers,
        ["example.test.\t\t3600\tIN\tMX\t10 mail.example.test."]
    );
    let dig = report.dig.unwrap();
    assert!(
        dig.starts_with(
            ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4660\n;; flags: qr aa rd;"
        ),
        "{dig}"
    );
    assert!(
        dig.contains("mail.example.test.\t3600\tIN\tA\t10.0.0.25\n"),
        "{dig}"
    );
    assert_eq!(report.report.transcript[0].direction, Direction::Sent);
    assert_eq!(
        report.report.transcript[1].text,
        "response id 4660 NOERROR answers 1"
    );

    let report = query(
        Via::Tcp(&direct_connect()),
        addr,
        &DnsQuery::new("nope.example.test", RecordType::A, 1),
        T,
    )
    .await;
    assert_eq!(report.status.as_deref(), Some("NXDOMAIN"));
    assert!(report.dig.unwrap().ends_with("(TCP)\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_of_a_closed_port_and_a_silent_server() {
    // A port nobody listens on: TCP refused, UDP answered with ICMP port unreachable.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let request = clients::http::HttpRequest::get("x", "/");
    let report = clients::http::run(&direct_connect(), closed, &request, T).await;
    assert_eq!(
        report.report.outcome,
        SessionOutcome::Refused { addr: closed }
    );
    assert_eq!(
        report.report.outcome.to_string(),
        format!("connect to {closed}: connection refused")
    );

    let udp_closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let q = clients::dns::DnsQuery::new("example.test", RecordType::A, 2);
    let report = clients::dns::query(clients::dns::Via::Udp(&socket), udp_closed, &q, T).await;
    assert_eq!(
        report.report.outcome,
        SessionOutcome::Refused { addr: udp_closed }
    );

    // A server that accepts and never speaks: the client times out waiting for the banner.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let report = clients::dns::query(
        clients::dns::Via::Udp(&socket),
        silent.local_addr().unwrap(),
        &q,
        Duration::from_millis(300),
    )
    .await;
    assert!(matches!(
        report.report.outcome,
        SessionOutcome::TimedOut { .. }
    ));
    let (_l, addr) = listener().await;
    let script = clients::smtp::MailScript {
        helo: "c".into(),
        ehlo: true,
        from: "a@b".into(),
        to: vec!["c@d".into()],
        message: String::new(),
    };
    let report =
        clients::smtp::run(&direct_connect(), addr, &script, Duration::from_millis(300)).await;
    assert_eq!(
        report.report.outcome,
        SessionOutcome::TimedOut {
            waiting_for: "greeting".into()
        }
    );
}
