//! Any bytes as an SMTP connection: every line goes through the server's session state
//! machine (commands, then the message during DATA), and a delivered message is written as an
//! mbox entry in memory. Nothing may panic. Run: `cargo +nightly fuzz run smtp`.

#![no_main]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use labctl::services::conn::{Line, MAX_LINE};
use labctl::services::smtp::{Session, SmtpConfig, Then, mbox_entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut config = SmtpConfig::new("mail.example.test", "/nonexistent/mbox");
    config.max_message = 4096;
    config.max_recipients = 4;
    let mut session = Session::new(Arc::new(config));
    let _ = session.greeting();
    for bytes in data.split(|&b| b == b'\n') {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let line = if bytes.len() > MAX_LINE {
            Line::TooLong
        } else {
            Line::Text(bytes.to_vec())
        };
        match session.handle(&line).then {
            Then::Continue => {}
            Then::Close => break,
            Then::Deliver(envelope) => {
                let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
                let entry = mbox_entry(&envelope, "Q1", "mail.example.test", at);
                let _ = session.delivered(Ok(&String::from_utf8_lossy(&entry)));
            }
        }
    }
});
