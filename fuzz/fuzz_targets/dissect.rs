//! Any bytes as one frame of any link type: the dissector and the field reader must return,
//! never panic, and no field may lie outside the frame.
//! The first byte picks the link type. Run: `cargo +nightly fuzz run dissect`.

#![no_main]

use labctl::wire::{self, LinkType};
use libfuzzer_sys::fuzz_target;

const LINKS: [u32; 9] = [0, 1, 101, 108, 113, 228, 229, 276, 147];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link = LinkType::from_u32(LINKS[usize::from(pick) % LINKS.len()]);
    let pkt = wire::dissect(link, frame);
    let _ = pkt.payload_of(frame);
    // The field-by-field reading of `labctl show --detail` and its hex dump.
    for field in wire::detail::layers(link, frame).iter().flat_map(|l| &l.fields) {
        assert!(field.offset + field.length <= frame.len());
    }
    let _ = wire::detail::hex_dump(frame);
});
