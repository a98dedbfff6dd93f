//! Any bytes as an HTTP request head: the request line and `Host` headers are taken from the
//! bytes the way hyper hands them over (method, target, version, every Host value) and routed
//! against sites in memory. hyper itself does the framing; what labctl decides from the head
//! (site, percent-decoding, path normalisation, redirects) must never panic.
//! Run: `cargo +nightly fuzz run http`.

#![no_main]

use std::sync::Arc;

use hyper::Version;
use labctl::services::http::{HttpConfig, RequestHead, route};
use labctl::services::tree::MemTree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut words = request_line.split(' ');
    let method = words.next().unwrap_or("").to_string();
    let target = words.next().unwrap_or("").to_string();
    let version = match words.next() {
        Some("HTTP/1.0") => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let hosts = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim().to_string())
        .collect();
    let www = MemTree::new([
        ("index.html", "<h1>www</h1>\n"),
        ("docs/index.html", "docs\n"),
        ("a file.txt", "spaced\n"),
    ])
    .expect("a valid tree");
    let mut config = HttpConfig::single(Arc::new(
        MemTree::new([("index.html", "default\n")]).expect("a tree"),
    ));
    config
        .sites
        .insert("www.example.test".into(), Arc::new(www));
    let request = RequestHead {
        method,
        version,
        target,
        hosts,
    };
    let _ = route(&config, &request);
});
