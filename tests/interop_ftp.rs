//! The FTP server against the real clients people use: curl (EPSV and PASV), lftp and the
//! `ftp` program (tnftp) in passive mode, all on loopback.

mod kit;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kit::{Running, assert_contains, curl, require, run, scratch, start_tcp, succeeded, text};
use labctl::services::ftp::{FtpConfig, serve};
use labctl::services::tree::{DirTree, FileTree, MemTree};

const README: &str = "This is the Debian archive.\nSee https://www.debian.org/ for more.\n";

fn binary_blob() -> Vec<u8> {
    (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect()
}

fn start() -> (Running, Arc<MemTree>) {
    let tree = Arc::new(
        MemTree::new([
            ("debian/README", README.as_bytes().to_vec()),
            ("debian/blob.bin", binary_blob()),
            ("incoming/", Vec::new()),
        ])
        .unwrap(),
    );
    let config = FtpConfig::new(tree.clone());
    let running = start_tcp(move |listener, shutdown| serve(listener, config, shutdown));
    (running, tree)
}

/// lftp in passive mode without TLS, logged in as anonymous on `port`, running `commands`
/// after `settings`; fails the test unless it succeeds.
fn lftp(flags: &[&str], settings: &str, port: u16, commands: &str) -> std::process::Output {
    let script = format!(
        "set ftp:passive-mode on; {settings}set ftp:ssl-allow no; set net:max-retries 1; \
         set net:timeout 10; open -u anonymous,guest -p {port} 127.0.0.1; {commands}; quit"
    );
    let mut cmd = Command::new(require("lftp", "lftp"));
    cmd.args(flags).arg("-c").arg(script);
    let out = run(cmd, None, Duration::from_secs(40));
    succeeded("lftp", &out);
    out
}

#[test]
fn curl_retr_with_epsv() {
    let (server, _) = start();
    let url = format!("ftp://{}/debian/README", server.addr);
    let out = curl(&["-v", "--ftp-pasv", &url]);
    assert_eq!(succeeded("curl", &out), README);
    assert_contains(
        &text(&out.stderr),
        &[
            "> EPSV",
            "< 229 Entering Extended Passive Mode (|||",
            "< 226 Transfer complete.",
        ],
    );
}

#[test]
fn curl_retr_with_pasv_when_epsv_is_disabled() {
    let (server, _) = start();
    let url = format!("ftp://{}/debian/blob.bin", server.addr);
    let out = curl(&["-v", "--ftp-pasv", "--disable-epsv", &url]);
    succeeded("curl", &out);
    assert_eq!(out.stdout, binary_blob());
    let log = text(&out.stderr);
    assert!(!log.contains("> EPSV"), "{log}");
    assert_contains(&log, &["> PASV", "< 227 Entering Passive Mode (127,0,0,1,"]);
}

#[test]
fn curl_lists_a_directory() {
    let (server, _) = start();
    let url = format!("ftp://{}/debian/", server.addr);
    let out = curl(&["--ftp-pasv", &url]);
    // curl turns the listing's CRLF line ends into local ones, as an ASCII transfer should.
    assert_eq!(
        succeeded("curl", &out),
        "-rw-r--r--    1 ftp      ftp                66 Jan  1  2024 README\n\
         -rw-r--r--    1 ftp      ftp             70000 Jan  1  2024 blob.bin\n"
    );
}

#[test]
fn curl_missing_file_is_550() {
    let (server, _) = start();
    let url = format!("ftp://{}/debian/NOPE", server.addr);
    let out = curl(&["-v", "--ftp-pasv", &url]);
    assert!(!out.status.success());
    assert_contains(&text(&out.stderr), &["< 550 "]);
}

#[test]
fn curl_uploads_with_stor() {
    let (server, tree) = start();
    let dir = scratch("ftp-upload");
    let file = dir.join("report.txt");
    std::fs::write(&file, "uploaded by curl\n").unwrap();
    let url = format!("ftp://{}/incoming/", server.addr);
    succeeded(
        "curl",
        &curl(&["--ftp-pasv", "-T", file.to_str().unwrap(), &url]),
    );
    assert_eq!(
        tree.read("/incoming/report.txt").unwrap(),
        b"uploaded by curl\n"
    );
}

#[test]
fn curl_named_user_wrong_password_is_530() {
    let tree = Arc::new(MemTree::new([("f", "x")]).unwrap());
    let mut config = FtpConfig::new(tree);
    config.users.insert("alice".into(), "s3cret".into());
    let server = start_tcp(move |listener, shutdown| serve(listener, config, shutdown));
    let good = curl(&[
        "--ftp-pasv",
        &format!("ftp://alice:s3cret@{}/f", server.addr),
    ]);
    assert_eq!(text(&good.stdout), "x");
    let bad = curl(&[
        "-v",
        "--ftp-pasv",
        &format!("ftp://alice:wrong@{}/f", server.addr),
    ]);
    assert!(!bad.status.success());
    assert_contains(&text(&bad.stderr), &["< 530 Login incorrect."]);
}

#[test]
fn lftp_passive_session() {
    let (server, _) = start();
    let dir = scratch("ftp-lftp");
    let dest = dir.join("README");
    let port = server.addr.port();
    let get = format!("pwd; cd debian; ls; get README -o {}", dest.display());
    let out = lftp(&[], "", port, &get);
    // `pwd` prints the session URL, `ls` the listing.
    assert_contains(
        &text(&out.stdout),
        &[
            &format!("ftp://anonymous:guest@127.0.0.1:{port}"),
            " 66 Jan  1  2024 README",
        ],
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), README);
}

#[test]
fn lftp_passive_without_epsv() {
    let (server, _) = start();
    let dir = scratch("ftp-lftp-pasv");
    let dest = dir.join("blob.bin");
    let get = format!("get debian/blob.bin -o {}", dest.display());
    let out = lftp(
        &["-d"],
        "set ftp:prefer-epsv no; ",
        server.addr.port(),
        &get,
    );
    assert_contains(
        &text(&out.stderr),
        &["---> PASV", "<--- 227 Entering Passive Mode (127,0,0,1,"],
    );
    assert_eq!(std::fs::read(&dest).unwrap(), binary_blob());
}

#[test]
fn ftp_program_in_passive_mode() {
    let (server, _) = start();
    let dir = scratch("ftp-tnftp");
    let dest = dir.join("README");
    let script = format!(
        "user anonymous anonymous\npwd\ncd debian\nls\nget README {}\nquit\n",
        dest.display()
    );
    let mut cmd = Command::new(require("ftp", "tnftp"));
    cmd.args([
        "-p",
        "-n",
        "-v",
        "127.0.0.1",
        &server.addr.port().to_string(),
    ]);
    let out = run(cmd, Some(script.as_bytes()), Duration::from_secs(40));
    // tnftp prints the path parsed from the 257 reply ("Remote directory").
    assert_contains(
        &succeeded("ftp", &out),
        &[
            "230 Login successful.",
            "Remote directory: /\n",
            "250 Directory successfully changed.",
            "150 Here comes the directory listing.",
            " 66 Jan  1  2024 README",
            "226 Transfer complete.",
        ],
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), README);
}

#[test]
fn curl_from_a_real_root_directory() {
    let root = scratch("ftp-root");
    std::fs::create_dir_all(root.join("pub")).unwrap();
    std::fs::write(root.join("pub/notes.txt"), "from disk\n").unwrap();
    let config = FtpConfig::new(Arc::new(DirTree::new(&root).unwrap()));
    let server = start_tcp(move |listener, shutdown| serve(listener, config, shutdown));
    let out = curl(&[
        "--ftp-pasv",
        &format!("ftp://{}/pub/notes.txt", server.addr),
    ]);
    assert_eq!(succeeded("curl", &out), "from disk\n");
    let file = root.join("up.txt");
    std::fs::write(&file, "uploaded\n").unwrap();
    let url = format!("ftp://{}/pub/", server.addr);
    succeeded(
        "curl",
        &curl(&["--ftp-pasv", "-T", file.to_str().unwrap(), &url]),
    );
    assert_eq!(
        std::fs::read_to_string(root.join("pub/up.txt")).unwrap(),
        "uploaded\n"
    );
}
