//! HTTP/1.1 server: static sites chosen by `Host`, served with hyper.
//!
//! hyper does the HTTP/1.1 framing (request parsing, keep-alive, chunked bodies, `400` for a
//! request it cannot parse, `414`/`431` for oversized request lines and headers), because that
//! is what the field uses and none of it is the lesson. What a request gets is decided by
//! [`route`], a pure function of the request head, unit-tested without sockets.
//!
//! Contract:
//! - `GET` and `HEAD` only; any other method gets `405` with `Allow: GET, HEAD`.
//! - An HTTP/1.1 request without exactly one `Host` gets `400` (RFC 9112 3.2). The host (port
//!   and trailing dot removed, lowercased) picks the site; an unknown host falls back to
//!   [`HttpConfig::default_site`], else `404`.
//! - A path is percent-decoded and normalised inside the site's root (`..` never leaves it); a
//!   directory serves its `index.html`; a missing file is `404`; a bad escape is `400`.
//! - `HEAD` gets the headers `GET` would, with the same `Content-Length`, and no body.
//! - [`serve`] takes an already-bound listener; connections stay open between requests
//!   (keep-alive) until the client closes or asks to.
//!
//! Invariants: nothing global; the `Date` header can be turned off so that a lab's transcript
//! is the same on every run; no request panics the server.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, LOCATION, SERVER};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::conn::accept_loop;
use super::serve::{ServeError, listen, root};
use super::tree::{FileTree, resolve};

/// The sites an HTTP server serves.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Sites by host name (lowercase, no port), e.g. `www.example.test`.
    pub sites: BTreeMap<String, Arc<dyn FileTree>>,
    /// The site for requests whose host is not in `sites`.
    pub default_site: Option<Arc<dyn FileTree>>,
    /// The `Server` header's value.
    pub server_name: String,
    /// Whether responses carry a `Date` header (real servers do; a lab may turn it off for
    /// byte-stable transcripts).
    pub date_header: bool,
}

impl HttpConfig {
    /// One site answering for every host.
    pub fn single(site: Arc<dyn FileTree>) -> Self {
        Self {
            sites: BTreeMap::new(),
            default_site: Some(site),
            server_name: "labctl".to_string(),
            date_header: true,
        }
    }
}

/// The parts of a request that decide its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub version: Version,
    /// The request target as sent: `/path?query`, or an absolute URI.
    pub target: String,
    /// Every `Host` header value, in order.
    pub hosts: Vec<String>,
}

/// A response before it is framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    /// Headers besides `Content-Length`, `Server` and `Date`.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// `HEAD`: send the headers with the body's length, but not the body.
    pub head_only: bool,
}

impl Reply {
    fn error(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("Error");
        let body = format!(
            "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\
             <body><h1>{reason}</h1></body></html>\n",
            code = status.as_u16()
        );
        Self {
            status,
            headers: vec![("content-type", "text/html; charset=utf-8".to_string())],
            body: body.into_bytes(),
            head_only: false,
        }
    }
}

/// Decides the response to a request.
pub fn route(config: &HttpConfig, request: &RequestHead) -> Reply {
    let head_only = request.method == "HEAD";
    let mut reply = route_inner(config, request);
    reply.head_only = head_only;
    reply
}

fn route_inner(config: &HttpConfig, request: &RequestHead) -> Reply {
    if request.method != "GET" && request.method != "HEAD" {
        let mut reply = Reply::error(StatusCode::METHOD_NOT_ALLOWED);
        reply.headers.push(("allow", "GET, HEAD".to_string()));
        return reply;
    }
    // An absolute-form target carries the host itself (RFC 9112 3.2.2).
    let (uri_host, path) = match request.target.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => (Some(rest[..i].to_string()), &rest[i..]),
            None => (Some(rest.to_string()), "/"),
        },
        None if request.target.starts_with('/') => (None, request.target.as_str()),
        None => return Reply::error(StatusCode::BAD_REQUEST),
    };
    let host = match (uri_host, request.hosts.as_slice()) {
        (_, [_, _, ..]) => return Reply::error(StatusCode::BAD_REQUEST),
        (Some(host), _) => Some(host),
        (None, [host]) => Some(host.clone()),
        (None, []) if request.version == Version::HTTP_11 => {
            return Reply::error(StatusCode::BAD_REQUEST);
        }
        (None, []) => None,
    };
    let site = host
        .map(|h| normalise_host(&h))
        .and_then(|h| config.sites.get(&h))
        .or(config.default_site.as_ref());
    let Some(site) = site else {
        return Reply::error(StatusCode::NOT_FOUND);
    };
    let raw_path = path.split(['?', '#']).next().unwrap_or("/");
    let Some(decoded) = percent_decode(raw_path) else {
        return Reply::error(StatusCode::BAD_REQUEST);
    };
    let path = resolve("/", &decoded);
    let Some(entry) = site.entry(&path) else {
        return Reply::error(StatusCode::NOT_FOUND);
    };
    if entry.is_dir && !raw_path.ends_with('/') {
        // Relative links in the index resolve against the directory only with the slash.
        let mut reply = Reply::error(StatusCode::MOVED_PERMANENTLY);
        reply.headers.push(("location", format!("{raw_path}/")));
        return reply;
    }
    let file = if entry.is_dir {
        resolve(&path, "index.html")
    } else {
        path
    };
    match site.read(&file) {
        Ok(body) => Reply {
            status: StatusCode::OK,
            headers: vec![("content-type", content_type(&file).to_string())],
            body,
            head_only: false,
        },
        Err(_) => Reply::error(StatusCode::NOT_FOUND),
    }
}

fn normalise_host(host: &str) -> String {
    let without_port = if host.starts_with('[') {
        // An IPv6 literal: [2001:db8::1]:80
        host.split_once(']')
            .map_or(host, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

/// Decodes `%XX` escapes; `None` for a malformed escape, a NUL, or bytes that are not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn to_response(reply: Reply, server_name: &str) -> Response<Full<Bytes>> {
    let length = reply.body.len();
    let body = if reply.head_only {
        Bytes::new()
    } else {
        Bytes::from(reply.body)
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(server_name) {
        headers.insert(SERVER, value);
    }
    for (name, value) in reply.headers {
        let Ok(value) = HeaderValue::from_str(&value) else {
            continue;
        };
        match name {
            "content-type" => headers.insert(CONTENT_TYPE, value),
            "allow" => headers.insert(ALLOW, value),
            "location" => headers.insert(LOCATION, value),
            _ => None,
        };
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

fn head_of(request: &Request<Incoming>) -> RequestHead {
    RequestHead {
        method: request.method().as_str().to_string(),
        version: request.version(),
        target: request.uri().to_string(),
        hosts: request
            .headers()
            .get_all(HOST)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect(),
    }
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, config: HttpConfig, shutdown: impl Future<Output = ()>) {
    let config = Arc::new(config);
    accept_loop(listener, shutdown, move |stream, _peer| {
        let config = config.clone();
        async move {
            let service_config = config.clone();
            let service = service_fn(move |request: Request<Incoming>| {
                let config = service_config.clone();
                async move {
                    let reply = route(&config, &head_of(&request));
                    Ok::<_, Infallible>(to_response(reply, &config.server_name))
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .keep_alive(true)
                // A client that shuts down its sending side after the request (`nc -N`)
                // still gets the response.
                .half_close(true)
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .auto_date_header(config.date_header);
            // A failed connection concerns only its own client.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
}

/// `labctl serve http --listen ADDR:PORT --root DIR`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpCliArgs {
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    #[arg(long)]
    pub root: PathBuf,
}

/// Serves `args.root` for every host on `args.listen` until `shutdown` completes.
pub async fn serve_cli(
    args: HttpCliArgs,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let tree = root("http", &args.root)?;
    let listener = listen("http", args.listen).await?;
    serve(listener, HttpConfig::single(Arc::new(tree)), shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::tree::MemTree;

    fn config() -> HttpConfig {
        let www = MemTree::new([
            ("index.html", "<h1>www</h1>\n"),
            ("docs/index.html", "docs\n"),
            ("a file.txt", "spaced\n"),
            ("logo.png", "PNG"),
        ])
        .unwrap();
        let other = MemTree::new([("index.html", "<h1>other</h1>\n")]).unwrap();
        let mut config = HttpConfig::single(Arc::new(
            MemTree::new([("index.html", "default\n")]).unwrap(),
        ));
        config
            .sites
            .insert("www.example.test".into(), Arc::new(www));
        config
            .sites
            .insert("other.example.test".into(), Arc::new(other));
        config
    }

    fn get(target: &str, host: Option<&str>) -> Reply {
        request("GET", Version::HTTP_11, target, host.into_iter().collect())
    }

    fn request(method: &str, version: Version, target: &str, hosts: Vec<&str>) -> Reply {
        route(
            &config(),
            &RequestHead {
                method: method.into(),
                version,
                target: target.into(),
                hosts: hosts.into_iter().map(String::from).collect(),
            },
        )
    }

    #[test]
    fn http_by_hand_lab_request() {
        let r = get("/", Some("www.example.test"));
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, b"<h1>www</h1>\n");
        assert_eq!(
            r.headers,
            [("content-type", "text/html; charset=utf-8".to_string())]
        );
    }

    #[test]
    fn host_picks_the_site_ignoring_port_case_and_trailing_dot() {
        assert_eq!(
            get("/", Some("OTHER.example.test.:8080")).body,
            b"<h1>other</h1>\n"
        );
        assert_eq!(get("/", Some("unknown.test")).body, b"default\n");
        assert_eq!(get("/", Some("[2001:db8::1]:80")).body, b"default\n");
    }

    #[test]
    fn unknown_host_without_default_is_404() {
        let mut config = config();
        config.default_site = None;
        let head = RequestHead {
            method: "GET".into(),
            version: Version::HTTP_11,
            target: "/".into(),
            hosts: vec!["nowhere.test".into()],
        };
        assert_eq!(route(&config, &head).status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn missing_or_repeated_host_is_400_in_http_1_1_only() {
        assert_eq!(get("/", None).status, StatusCode::BAD_REQUEST);
        let twice = request("GET", Version::HTTP_11, "/", vec!["a", "b"]);
        assert_eq!(twice.status, StatusCode::BAD_REQUEST);
        let old = request("GET", Version::HTTP_10, "/", vec![]);
        assert_eq!(old.status, StatusCode::OK);
        assert_eq!(old.body, b"default\n");
    }

    #[test]
    fn absolute_form_target_names_the_host() {
        let r = request(
            "GET",
            Version::HTTP_11,
            "http://other.example.test/",
            vec!["www.example.test"],
        );
        assert_eq!(r.body, b"<h1>other</h1>\n");
    }

    #[test]
    fn paths_decode_normalise_and_stay_inside_the_site() {
        assert_eq!(
            get("/a%20file.txt?x=1", Some("www.example.test")).body,
            b"spaced\n"
        );
        assert_eq!(
            get("/../../index.html", Some("www.example.test")).body,
            b"<h1>www</h1>\n"
        );
        assert_eq!(
            get("/%zz", Some("www.example.test")).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            get("/%00", Some("www.example.test")).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            get("*", Some("www.example.test")).status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn directories_serve_index_and_redirect_without_slash() {
        assert_eq!(get("/docs/", Some("www.example.test")).body, b"docs\n");
        let r = get("/docs", Some("www.example.test"));
        assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
        assert!(r.headers.contains(&("location", "/docs/".to_string())));
    }

    #[test]
    fn missing_file_is_404_with_a_page() {
        let r = get("/nope.html", Some("www.example.test"));
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(
            String::from_utf8(r.body)
                .unwrap()
                .contains("<title>404 Not Found</title>")
        );
    }

    #[test]
    fn other_methods_are_405_with_allow() {
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "BREW"] {
            let r = request(method, Version::HTTP_11, "/", vec!["www.example.test"]);
            assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert!(r.headers.contains(&("allow", "GET, HEAD".to_string())));
        }
    }

    #[test]
    fn head_has_the_get_length_and_no_body() {
        let r = request("HEAD", Version::HTTP_11, "/", vec!["www.example.test"]);
        assert!(r.head_only);
        let response = to_response(r, "labctl");
        assert_eq!(response.headers()[CONTENT_LENGTH], "13");
        assert_eq!(response.headers()[SERVER], "labctl");
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("/logo.png"), "image/png");
        assert_eq!(content_type("/INDEX.HTM"), "text/html; charset=utf-8");
        assert_eq!(content_type("/README"), "application/octet-stream");
    }
}
