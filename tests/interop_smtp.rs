//! The SMTP server against swaks and a hand-typed dialogue through nc, on loopback.

mod kit;

use std::process::Command;
use std::time::Duration;

use kit::{Running, assert_contains, nc, require, run, scratch, start_tcp, succeeded};
use labctl::services::smtp::{SmtpConfig, serve};

fn start(name: &str) -> (Running, std::path::PathBuf) {
    let mailbox = scratch(name).join("mbox");
    let config = SmtpConfig::new("mail.example.test", &mailbox);
    let running = start_tcp(move |listener, shutdown| serve(listener, config, shutdown));
    (running, mailbox)
}

fn swaks(server: &Running, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(require("swaks", "swaks"));
    cmd.args([
        "--server",
        "127.0.0.1",
        "--port",
        &server.addr.port().to_string(),
        "--helo",
        "client.example.test",
        "--from",
        "student@client.example.test",
        "--to",
        "teacher@example.test",
        "--timeout",
        "10",
    ])
    .args(extra);
    run(cmd, None, Duration::from_secs(30))
}

#[test]
fn swaks_delivers_into_the_mailbox() {
    let (server, mailbox) = start("smtp-swaks");
    let out = swaks(
        &server,
        &[
            "--header",
            "Subject: lab",
            "--body",
            "Hello from swaks.\n.leading dot\nFrom the start",
        ],
    );
    assert_contains(
        &succeeded("swaks", &out),
        &[
            "<-  220 mail.example.test ESMTP labctl",
            "<-  250-PIPELINING",
            "<-  354 End data with <CR><LF>.<CR><LF>",
            "<-  250 2.0.0 Ok: queued as 00000001",
            "<-  221 2.0.0 Bye",
        ],
    );
    let mbox = std::fs::read_to_string(&mailbox).unwrap();
    assert!(
        mbox.starts_with("From student@client.example.test "),
        "{mbox}"
    );
    assert_contains(
        &mbox,
        &[
            "Delivered-To: teacher@example.test\n",
            "Subject: lab\n",
            "\nHello from swaks.\n.leading dot\n>From the start\n",
        ],
    );
}

#[test]
fn swaks_with_pipelining_and_two_messages() {
    let (server, mailbox) = start("smtp-swaks-pipe");
    for n in 1..=2 {
        let body = format!("message {n}");
        let out = swaks(&server, &["--pipeline", "--body", &body]);
        assert_contains(
            &succeeded("swaks", &out),
            &[&format!("queued as 0000000{n}")],
        );
    }
    let mbox = std::fs::read_to_string(&mailbox).unwrap();
    assert_eq!(mbox.matches("\nFrom student@").count() + 1, 2, "{mbox}");
    assert!(mbox.contains("message 1\n") && mbox.contains("message 2\n"));
}

#[test]
fn swaks_quit_after_rcpt() {
    let (server, _) = start("smtp-swaks-quit");
    // --quit-after RCPT exercises an early QUIT: the server must answer 221 and close.
    let out = swaks(&server, &["--quit-after", "RCPT"]);
    assert_contains(
        &succeeded("swaks", &out),
        &["<-  250 2.1.5 Ok", "<-  221 2.0.0 Bye"],
    );
}

#[test]
fn nc_by_hand_dialogue() {
    let (server, mailbox) = start("smtp-nc");
    let typed = "HELO client.example.test\r\n\
                 MAIL FROM:<student@client.example.test>\r\n\
                 RCPT TO:<teacher@example.test>\r\n\
                 DATA\r\n\
                 Subject: by hand\r\n\
                 \r\n\
                 typed in nc\r\n\
                 .\r\n\
                 QUIT\r\n";
    assert_eq!(
        nc(server.addr.port(), typed),
        "220 mail.example.test ESMTP labctl\r\n\
         250 mail.example.test\r\n\
         250 2.1.0 Ok\r\n\
         250 2.1.5 Ok\r\n\
         354 End data with <CR><LF>.<CR><LF>\r\n\
         250 2.0.0 Ok: queued as 00000001\r\n\
         221 2.0.0 Bye\r\n"
    );
    let mbox = std::fs::read_to_string(&mailbox).unwrap();
    assert!(
        mbox.ends_with("Subject: by hand\n\ntyped in nc\n\n"),
        "{mbox}"
    );
}
