//! HTTP client: one `GET` (or `HEAD`) typed the way the http-by-hand lab types it.
//!
//! It sends the request line, `Host` and the empty line, reads the status line and headers,
//! then the body framed by `Content-Length`, chunked encoding, or the end of the connection,
//! and closes its side. The response is parsed by [`parse_response`], a pure function.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Connect, Direction, Report, SessionOutcome, TranscriptLine, connect_with};

/// The most a response may hold; a larger one is cut off and reported as failed.
const MAX_RESPONSE: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRequest {
    /// `GET` or `HEAD`.
    pub method: String,
    /// The `Host` header's value.
    pub host: String,
    pub path: String,
}

impl HttpRequest {
    pub fn get(host: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: "GET".to_string(),
            host: host.into(),
            path: path.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpReport {
    #[serde(flatten)]
    pub report: Report,
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A parsed response head and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Parses a response from the bytes received so far. `Ok(None)`: incomplete, read more;
/// `eof` says the server has closed, which ends a body without a length.
pub fn parse_response(
    bytes: &[u8],
    head_only: bool,
    eof: bool,
) -> Result<Option<Response>, String> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if eof {
            Err("connection closed before the end of the headers".to_string())
        } else {
            Ok(None)
        };
    };
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let rest = &bytes[end + 4..];
    let no_body = head_only || status / 100 == 1 || status == 204 || status == 304;
    let body = if no_body {
        Some(Vec::new())
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad content-length {length:?}"))?;
        (rest.len() >= length).then(|| rest[..length].to_vec())
    } else {
        eof.then(|| rest.to_vec())
    };
    match body {
        Some(body) => Ok(Some(Response {
            status_line,
            status,
            headers,
            body,
        })),
        None if eof => Err("connection closed before the end of the body".to_string()),
        None => Ok(None),
    }
}

/// Decodes a chunked body; `Ok(None)` while incomplete.
fn dechunk(mut bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&bytes[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        bytes = &bytes[eol + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if bytes.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}

/// Sends one request to `server` and reads the response.
pub async fn run(
    connect: &Connect,
    server: SocketAddr,
    request: &HttpRequest,
    timeout: Duration,
) -> HttpReport {
    let mut out = HttpReport {
        report: Report {
            transcript: Vec::new(),
            outcome: SessionOutcome::Completed,
        },
        status: None,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let mut stream = match connect_with(connect, server, timeout).await {
        Ok(stream) => stream,
        Err(outcome) => {
            out.report.outcome = outcome;
            return out;
        }
    };
    let transcript = &mut out.report.transcript;
    let note = |t: &mut Vec<TranscriptLine>, direction, text: String| {
        t.push(TranscriptLine { direction, text })
    };
    note(
        transcript,
        Direction::Note,
        format!("connected to {server}"),
    );
    let lines = [
        format!("{} {} HTTP/1.1", request.method, request.path),
        format!("Host: {}", request.host),
        String::new(),
    ];
    for line in &lines {
        note(transcript, Direction::Sent, line.clone());
    }
    let wire: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    if let Err(e) = stream.write_all(wire.as_bytes()).await {
        out.report.outcome = SessionOutcome::Failed {
            message: format!("send request: {e}"),
        };
        return out;
    }
    let head_only = request.method.eq_ignore_ascii_case("HEAD");
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + timeout;
    let response = loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await;
        let eof = match read {
            Err(_) => {
                out.report.outcome = SessionOutcome::TimedOut {
                    waiting_for: "the response".to_string(),
                };
                return out;
            }
            Ok(Err(_)) | Ok(Ok(0)) => true,
            Ok(Ok(n)) => {
                received.extend_from_slice(&chunk[..n]);
                received.len() > MAX_RESPONSE
            }
        };
        match parse_response(&received, head_only, eof) {
            Ok(Some(response)) => break response,
            Ok(None) => {}
            Err(message) => {
                out.report.outcome = if received.is_empty() {
                    SessionOutcome::Closed {
                        waiting_for: "the response".to_string(),
                    }
                } else {
                    SessionOutcome::Failed { message }
                };
                return out;
            }
        }
    };
    let _ = stream.shutdown().await;
    let transcript = &mut out.report.transcript;
    note(
        transcript,
        Direction::Received,
        response.status_line.clone(),
    );
    for (name, value) in &response.headers {
        note(transcript, Direction::Received, format!("{name}: {value}"));
    }
    note(transcript, Direction::Received, String::new());
    note(
        transcript,
        Direction::Note,
        format!("body: {} bytes", response.body.len()),
    );
    out.status = Some(response.status);
    out.headers = response.headers;
    out.body = response.body;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn content_length_framing() {
        let r = parse_response(OK, false, false).unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers[0],
            ("content-type".to_string(), "text/html".to_string())
        );
        assert_eq!(r.body, b"hello");
        assert_eq!(
            parse_response(&OK[..OK.len() - 1], false, false).unwrap(),
            None
        );
        assert!(parse_response(&OK[..OK.len() - 1], false, true).is_err());
    }

    #[test]
    fn head_response_has_no_body() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(
            parse_response(head, true, false).unwrap().unwrap().body,
            b""
        );
    }

    #[test]
    fn chunked_and_close_delimited_bodies() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked, false, false).unwrap().unwrap().body,
            b"hello world"
        );
        assert_eq!(parse_response(&chunked[..60], false, false).unwrap(), None);
        let close = b"HTTP/1.0 200 OK\r\n\r\nuntil close";
        assert_eq!(parse_response(close, false, false).unwrap(), None);
        assert_eq!(
            parse_response(close, false, true).unwrap().unwrap().body,
            b"until close"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", false, false).is_err());
        assert!(parse_response(b"HTTP/1.1 2\r\n\r\n", false, false).is_err());
        let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(parse_response(bad_chunk, false, false).is_err());
    }
}
