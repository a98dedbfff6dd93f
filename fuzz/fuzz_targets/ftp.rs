//! Any bytes as an FTP control connection: every line goes through the server's session state
//! machine, and the actions it asks for (passive listener, transfer, upload) are reported back
//! as done, so the states after them are reached too. Nothing may panic.
//! Run: `cargo +nightly fuzz run ftp`.

#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;

use labctl::services::conn::{Line, MAX_LINE};
use labctl::services::ftp::{FtpConfig, Session, Then};
use labctl::services::tree::MemTree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tree = MemTree::new([
        ("debian/README", "Debian archive\n"),
        ("debian/pool/", ""),
        ("welcome.msg", "hello\n"),
        ("incoming/", ""),
    ])
    .expect("a valid tree");
    let mut config = FtpConfig::new(Arc::new(tree));
    config.users.insert("alice".into(), "s3cret".into());
    let mut session = Session::new(Arc::new(config), "10.0.0.2".parse().expect("an address"));
    let _ = session.greeting();
    for bytes in data.split(|&b| b == b'\n') {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let line = if bytes.len() > MAX_LINE {
            Line::TooLong
        } else {
            Line::Text(bytes.to_vec())
        };
        let response = session.handle(&line);
        match response.then {
            Then::Continue => {}
            Then::Close => break,
            Then::Passive { extended } => {
                let bound: SocketAddr = "10.0.0.2:40000".parse().expect("an address");
                let _ = session.passive_opened(Ok(bound), extended);
            }
            Then::Send(_) => {
                let _ = session.transfer_done(Ok(()));
            }
            Then::Receive(path) => {
                let _ = session.stored(&path, Ok(b"uploaded\n".to_vec()));
            }
        }
    }
});
