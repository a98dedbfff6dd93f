//! The HTML report in a real browser: Debian's headless Chromium, driven through the DevTools
//! protocol over a WebSocket, loads pages from `file://` with the network emulated offline and
//! every request watched. For each page: nothing was requested but the file itself, the
//! console has no error and no script threw, and every conversation has one arrow per packet
//! (counted by `labctl show --conversations --json` on the same capture, independently of the
//! page). A screenshot of each page is kept under `target/html-report/`.
//!
//! Pages: a real run of homework-redirect (REDIRECT: port 21 on the wire), a real run of
//! filter-drop-router (unanswered SYNs), and `labctl show --html` of a fixed capture.

mod kit;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use kit::{labctl, root};

/// Where pages and screenshots stay after the test, for people and CI artifacts.
fn artifacts(test: &str) -> PathBuf {
    let dir = root().join("target/html-report").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("an artifacts directory");
    dir
}

/// A headless Chromium and one page target attached over the browser's WebSocket.
struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    events: Vec<Value>,
}

impl Browser {
    fn launch(profile: &Path) -> Browser {
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromium ({e}): install Debian's `chromium` package")
            });
        // Chromium says where its DevTools endpoint is on stderr.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed no DevTools endpoint within 60 s");
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("a host:port")
            .to_string();
        let stream = TcpStream::connect(&addr).expect("connect to DevTools");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (socket, _) = tungstenite::client(url.as_str(), stream).expect("WebSocket handshake");
        let mut browser = Browser {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"]
            .as_str()
            .expect("a target id")
            .to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        for domain in ["Network", "Runtime", "Log", "Page"] {
            browser.call(&format!("{domain}.enable"), json!({}));
        }
        browser.call(
            "Network.emulateNetworkConditions",
            json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        );
        browser
    }

    /// Sends one command (to the page once attached) and waits for its answer, keeping every
    /// event that arrives meanwhile.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .expect("send to DevTools");
        loop {
            let reply: Value = match self.socket.read().expect("read from DevTools") {
                Message::Text(text) => serde_json::from_str(text.as_str()).expect("JSON"),
                _ => continue,
            };
            if reply["id"] == json!(id) {
                assert!(reply["error"].is_null(), "{method} failed: {reply}");
                return reply["result"].clone();
            }
            self.events.push(reply);
        }
    }

    /// Loads a page and waits for its load event.
    fn open(&mut self, page: &Path) {
        self.events.clear();
        let url = format!("file://{}", page.display());
        self.call("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            assert!(Instant::now() < deadline, "{url} did not load in 30 s");
            // A cheap command to pump events.
            self.call("Runtime.evaluate", json!({"expression": "1"}));
        }
    }

    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression} threw: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Requests for anything but a `file://` URL.
    fn requests_out(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str())
            .filter(|url| !url.starts_with("file://"))
            .map(String::from)
            .collect()
    }

    /// Console errors, uncaught exceptions and error log entries.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.consoleAPICalled") => {
                    matches!(e["params"]["type"].as_str(), Some("error" | "assert"))
                }
                Some("Runtime.exceptionThrown") => true,
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == "error",
                _ => false,
            })
            .map(|e| e.to_string())
            .collect()
    }

    fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64(shot["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64, as DevTools sends screenshots.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|c| *c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= u32::from(*d) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// Packets per conversation of a capture, in labctl's conversation order, as
/// `labctl show --conversations --json` counts them.
fn packets_per_conversation(capture: &Path) -> Vec<u64> {
    let out = labctl()
        .args(["show", "--conversations", "--json"])
        .arg(capture)
        .output()
        .expect("run labctl show");
    assert!(out.status.success(), "{out:?}");
    let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON rows");
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| r["packets_a_to_b"].as_u64().unwrap() + r["packets_b_to_a"].as_u64().unwrap())
        .collect()
}

/// Loads `page` and checks it: no request out, no error, one arrow per packet of each
/// conversation of each capture (`captures[i]` drawn in the section `cap{i}`).
fn check_page(browser: &mut Browser, page: &Path, captures: &[PathBuf], shot: &Path) {
    browser.open(page);
    for (i, capture) in captures.iter().enumerate() {
        let expected = packets_per_conversation(capture);
        assert!(
            !expected.is_empty(),
            "{}: no conversation",
            capture.display()
        );
        for (c, packets) in expected.iter().enumerate() {
            // ICMP errors are drawn in their conversation's colour but are not its packets.
            let drawn = browser.eval(&format!(
                "document.querySelectorAll('section#cap{i} g.pkt[data-conv=\"{}\"]\
                 :not([data-mark=\"ICMP error\"])').length",
                c + 1
            ));
            assert_eq!(
                drawn.as_u64(),
                Some(*packets),
                "{}: conversation {} of {} has the wrong number of arrows",
                page.display(),
                c + 1,
                capture.display()
            );
        }
    }
    // The SVG text is real text: the browser reads it back.
    let text = browser.eval("document.querySelector('svg.ladder text.label').textContent");
    assert!(text.as_str().is_some_and(|t| !t.is_empty()), "{text}");
    browser.screenshot(shot);
    let out = browser.requests_out();
    assert!(out.is_empty(), "{}: requested {out:?}", page.display());
    let errors = browser.errors();
    assert!(
        errors.is_empty(),
        "{}: console errors {errors:?}",
        page.display()
    );
}

/// Runs a scenario with `--html`; returns the page and the run's captures in report order.
fn run_with_page(scenario: &str, dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let page = dir.join(format!("{scenario}.html"));
    let out = dir.join(format!("{scenario}-run"));
    let run = labctl()
        .args(["run", scenario, "--json", "--html"])
        .arg(&page)
        .arg("--out")
        .arg(&out)
        .current_dir(root())
        .output()
        .expect("run labctl");
    // A check that failed (exit 1) still makes a report and a page: the page is under test
    // here, drawn from the run's own captures, not the lab's verdict.
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "labctl run {scenario}: {:?}: {}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).expect("a JSON report");
    let captures = report["captures"]
        .as_array()
        .expect("captures")
        .iter()
        .map(|c| {
            let path = PathBuf::from(c["path"].as_str().expect("a path"));
            if path.is_absolute() {
                path
            } else {
                root().join(path)
            }
        })
        .collect();
    let in_artifacts = std::fs::read(out.join("report.html")).expect("report.html");
    assert_eq!(
        in_artifacts,
        std::fs::read(&page).unwrap(),
        "report.html and --html differ"
    );
    (page, captures)
}

#[test]
fn pages_load_offline_with_every_arrow_and_no_error() {
    let dir = artifacts("browser");
    let mut browser = Browser::launch(&dir.join("profile"));
    for scenario in ["homework-redirect", "filter-drop-router"] {
        let (page, captures) = run_with_page(scenario, &dir);
        check_page(
            &mut browser,
            &page,
            &captures,
            &dir.join(format!("{scenario}.png")),
        );
    }
    let marks = browser.eval("document.querySelectorAll('g.pkt[data-mark=\"no answer\"]').length");
    assert!(
        marks.as_u64().is_some_and(|n| n > 0),
        "filter-drop-router's dropped SYNs are not marked"
    );
    let capture = root().join("tests/data/homework-redirect.pcap");
    let page = dir.join("show.html");
    let show = labctl()
        .arg("show")
        .arg(&capture)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("run labctl show");
    assert!(show.status.success(), "{show:?}");
    check_page(&mut browser, &page, &[capture], &dir.join("show.png"));
    let redirected = browser.eval(
        "[...document.querySelectorAll('g.pkt[data-conv=\"2\"] text.label')]\
         .some(t => t.textContent.includes('21 → 43958'))",
    );
    assert_eq!(
        redirected,
        json!(true),
        "the answer from port 21 is not drawn"
    );
}
