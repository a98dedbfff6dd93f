//! The HTTP server against curl, nc and telnet on loopback: GET, HEAD, virtual hosts,
//! keep-alive, 404, 400, 405.

mod kit;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kit::{Running, assert_contains, curl, require, run_held, start_tcp, text};
use labctl::services::http::{HttpConfig, serve};
use labctl::services::tree::{FileTree, MemTree};

const PAGE: &str = "<html><body><h1>Welcome to www.example.test</h1></body></html>\n";

fn start() -> Running {
    let www: Arc<dyn FileTree> = Arc::new(MemTree::new([("index.html", PAGE)]).unwrap());
    let other: Arc<dyn FileTree> =
        Arc::new(MemTree::new([("index.html", "other site\n")]).unwrap());
    let config = HttpConfig {
        sites: BTreeMap::from([
            ("www.example.test".to_string(), www),
            ("other.example.test".to_string(), other),
        ]),
        default_site: None,
        server_name: "labctl".to_string(),
        date_header: false,
    };
    start_tcp(move |listener, shutdown| serve(listener, config, shutdown))
}

fn nc(server: &Running, input: &str) -> String {
    kit::nc(server.addr.port(), input)
}

#[test]
fn curl_get_by_virtual_host() {
    let server = start();
    let port = server.addr.port();
    let www = format!("www.example.test:{port}:127.0.0.1");
    let out = curl(&[
        "--resolve",
        &www,
        &format!("http://www.example.test:{port}/"),
    ]);
    assert_eq!(text(&out.stdout), PAGE);
    let out = curl(&[
        "-H",
        "Host: other.example.test",
        &format!("http://{}/", server.addr),
    ]);
    assert_eq!(text(&out.stdout), "other site\n");
}

#[test]
fn curl_head_has_length_and_no_body() {
    let server = start();
    let out = curl(&[
        "-I",
        "-H",
        "Host: www.example.test",
        &format!("http://{}/", server.addr),
    ]);
    let head = text(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_contains(
        &head,
        &[
            &format!("content-length: {}\r\n", PAGE.len()),
            "server: labctl\r\n",
        ],
    );
    assert!(head.ends_with("\r\n\r\n"), "{head}");
}

#[test]
fn curl_keeps_the_connection_alive() {
    let server = start();
    let url = format!("http://{}/", server.addr);
    let out = curl(&["-v", "-H", "Host: www.example.test", &url, &url]);
    assert_eq!(text(&out.stdout), format!("{PAGE}{PAGE}"));
    let log = text(&out.stderr);
    assert!(
        log.contains("Re-using existing") || log.contains("Reusing existing"),
        "{log}"
    );
}

#[test]
fn curl_sees_404_and_405() {
    let server = start();
    let url = format!("http://{}/missing.html", server.addr);
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Host: www.example.test",
        &url,
    ]);
    assert_eq!(text(&out.stdout), "404");
    let out = curl(&[
        "-X",
        "POST",
        "-d",
        "x=1",
        "-i",
        "-H",
        "Host: www.example.test",
        &url,
    ]);
    let response = text(&out.stdout);
    assert!(
        response.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{response}"
    );
    assert_contains(&response, &["allow: GET, HEAD\r\n"]);
}

#[test]
fn nc_request_by_hand() {
    let server = start();
    let out = nc(
        &server,
        "GET / HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        out,
        format!(
            "HTTP/1.1 200 OK\r\nserver: labctl\r\ncontent-type: text/html; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{PAGE}",
            PAGE.len()
        )
    );
}

#[test]
fn nc_two_requests_on_one_connection() {
    let server = start();
    let out = nc(
        &server,
        "GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n\
         GET /nope HTTP/1.1\r\nHost: www.example.test\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert_contains(&out, &["HTTP/1.1 404 Not Found\r\n"]);
}

#[test]
fn nc_malformed_and_hostless_requests_are_400() {
    let server = start();
    let out = nc(&server, "GARBAGE\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out:?}");
    let out = nc(&server, "GET / HTTP/1.1\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out:?}");
}

#[test]
fn telnet_lab_request() {
    let server = start();
    let mut cmd = Command::new(require("telnet", "telnet"));
    cmd.args(["127.0.0.1", &server.addr.port().to_string()]);
    // Typed lines end in a plain newline: telnet itself sends each one as CRLF. The lab types
    // only the first two lines; `Connection: close` makes the server end the session so the
    // test sees telnet's closing message instead of waiting for an idle timeout.
    let typed = "GET / HTTP/1.1\nHost: www.example.test\nConnection: close\n\n";
    let out = run_held(
        cmd,
        Some(typed.as_bytes()),
        Duration::from_secs(3),
        Duration::from_secs(20),
    );
    assert_contains(
        &text(&out.stdout),
        &["Connected to 127.0.0.1.", "HTTP/1.1 200 OK", PAGE],
    );
    assert_contains(&text(&out.stderr), &["Connection closed by foreign host."]);
}
