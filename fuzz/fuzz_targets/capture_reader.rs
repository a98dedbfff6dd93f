//! Any bytes as a capture file: the reader, the dissector, the conversation tracker and every
//! rendering must return, never panic. Run: `cargo +nightly fuzz run capture_reader`.

#![no_main]

use labctl::analyze::{self, Names};
use labctl::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = wire::CaptureReader::new(data) else {
        return;
    };
    let mut analyzer = analyze::Analyzer::new();
    analyzer.follow(0);
    let mut lines = analyze::PacketLines::new(Names::new());
    while let Ok(Some(frame)) = reader.next_frame() {
        let pkt = wire::dissect(frame.linktype, frame.data);
        let _ = lines.line(&frame, &pkt);
        analyzer.push_dissected(&frame, &pkt);
    }
    let (analysis, _) = analyzer.finish_follow();
    let _ = analyze::render_flows(&analysis, &Names::new());
    let _ = analyze::table::conversations_text(&analysis, &Names::new());
    let _ = analyze::table::endpoints_text(&analysis, &Names::new());
});
