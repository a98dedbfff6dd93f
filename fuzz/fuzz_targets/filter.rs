//! Any text as a display filter and as a capture filter: compiling returns a filter or an
//! error whose caret rendering never panics, and a compiled display filter is applied to every
//! frame of a small capture (TCP session, DNS over UDP, fragments).
//! Run: `cargo +nightly fuzz run filter`.

#![no_main]

use std::sync::LazyLock;

use labctl::analyze::fixture::{CLIENT, SERVER, Wire};
use labctl::filter::{CaptureFilter, DisplayFilter};
use labctl::wire::{self, Frame};
use libfuzzer_sys::fuzz_target;

static FRAMES: LazyLock<Vec<Frame>> = LazyLock::new(|| {
    let mut w = Wire::new();
    w.session(
        40000,
        21,
        b"USER anonymous\r\n",
        b"331 Please specify the password.\r\n",
    );
    w.udp(CLIENT, SERVER, 5353, 53, &Wire::dns_message(7, None));
    w.udp(
        SERVER,
        CLIENT,
        53,
        5353,
        &Wire::dns_message(7, Some("10.0.0.80")),
    );
    w.udp_fragmented(CLIENT, SERVER, 4000, 9, &[0x5a; 3000], 1500, 42);
    w.frames
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match DisplayFilter::compile(text) {
        Err(e) => {
            let _ = e.render(text);
        }
        Ok(filter) => {
            let mut matcher = filter.matcher();
            for frame in FRAMES.iter() {
                let frame = frame.as_ref();
                let pkt = wire::dissect(frame.linktype, frame.data);
                let _ = matcher.matches(&frame, &pkt);
            }
        }
    }
    match CaptureFilter::new(text) {
        Err(e) => {
            let _ = e.render(text);
        }
        Ok(mut filter) => {
            for frame in FRAMES.iter() {
                let _ = filter.matches(&frame.as_ref());
            }
        }
    }
});
