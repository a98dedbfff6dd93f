//! Bad capture files: each one of the corpus below must be refused with a message naming the
//! byte offset of the problem, through every entry point (`read_file`, `analyze_file`,
//! `show`); and no mutation of a good file may make the reader, the dissector, the analysis or
//! a rendering panic.

mod kit;

use std::path::{Path, PathBuf};

use kit::capfile::{SHB, idb_body, pcap_header, pcap_record, raw_block, shb_body};
use kit::frames::{self, CLIENT, SERVER, Wire};
use kit::scratch;
use labctl::analyze::{self, ShowArgs, ShowError, ShowView};
use labctl::wire::{self, WireError};

fn record(caplen: u32, orig: u32, data: &[u8]) -> Vec<u8> {
    pcap_record(1, caplen, orig, data)
}

fn shb() -> Vec<u8> {
    raw_block(SHB, 28, &shb_body(), 28)
}

fn idb() -> Vec<u8> {
    raw_block(1, 20, &idb_body(1, 65535), 20)
}

/// (name, bytes, expected offset, a word the message must contain)
fn corpus() -> Vec<(&'static str, Vec<u8>, u64, &'static str)> {
    let good = record(4, 4, b"abcd");
    let mut v = vec![
        ("zero-length", Vec::new(), 0, "empty"),
        (
            "garbage",
            b"this is not a capture at all\n".to_vec(),
            0,
            "magic",
        ),
        (
            "wrong-magic",
            [
                [0xd4, 0xc3, 0xb2, 0xa2].as_slice(),
                &pcap_header(65535, 1)[4..],
            ]
            .concat(),
            0,
            "magic",
        ),
        (
            "truncated-file-header",
            pcap_header(65535, 1)[..10].to_vec(),
            0,
            "truncated",
        ),
    ];
    let mut f = pcap_header(65535, 1);
    f.extend(&good);
    f.extend(&record(4, 4, b"ab")[..7]);
    v.push(("truncated-record-header", f, 44, "truncated record header"));
    let mut f = pcap_header(65535, 1);
    f.extend(&good);
    f.extend(record(100, 100, b"only a few bytes"));
    v.push(("truncated-record", f, 44, "truncated record"));
    // Above the snapshot length is read (as libpcap does) up to 262144 bytes; above both
    // it is a corrupt length.
    let mut f = pcap_header(64, 1);
    f.extend(&good);
    f.extend(record(262_145, 262_145, &[0; 65]));
    v.push(("caplen-above-snaplen-and-maximum", f, 44, "snapshot length"));
    let mut f = pcap_header(0, 1);
    f.extend(record(0x7fff_ffff, 0x7fff_ffff, b""));
    v.push(("absurd-caplen", f, 24, "larger"));
    let mut f = shb();
    f.extend(idb());
    f.extend(raw_block(6, 33, &[0; 21], 33));
    v.push(("pcapng-length-not-multiple-of-4", f, 48, "multiple of 4"));
    let mut f = shb();
    f.extend(raw_block(1, 8, &[], 8));
    v.push(("pcapng-length-too-small", f, 28, "shorter"));
    let mut f = shb();
    f.extend(raw_block(1, 20, &[1, 0, 0, 0, 0xff, 0xff, 0, 0], 24));
    v.push(("pcapng-trailer-mismatch", f, 28, "trailing length"));
    let mut f = shb();
    let mut b = raw_block(6, 64, &[0; 52], 64);
    b.truncate(40);
    f.extend(b);
    v.push(("pcapng-truncated-block", f, 28, "truncated pcapng block"));
    let mut f = shb();
    let mut body = vec![0; 20];
    body[12] = 4;
    body.extend(b"abcd");
    f.extend(raw_block(6, 36, &body, 36));
    v.push(("pcapng-packet-before-interface", f, 28, "interface 0"));
    let mut f = shb();
    f.extend(idb());
    let mut body = vec![0; 20];
    body[12] = 200;
    body.extend(b"abcd");
    f.extend(raw_block(6, 36, &body, 36));
    v.push(("pcapng-caplen-past-block", f, 48, "past the end"));
    let mut f = shb();
    f[8..12].copy_from_slice(&[9, 9, 9, 9]);
    v.push(("pcapng-bad-byte-order-magic", f, 0, "byte-order"));
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    kit::capfile::write(dir, &format!("{name}.pcap"), bytes)
}

#[test]
fn every_bad_file_is_refused_with_its_offset() {
    let dir = scratch("malformed");
    for (name, bytes, offset, word) in corpus() {
        let path = write(&dir, name, &bytes);
        let err = wire::read_file(&path).expect_err(name);
        assert_eq!(err.offset(), Some(offset), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(word), "{name}: message {msg:?} lacks {word:?}");
        assert!(
            msg.contains(&format!("byte {offset}")) || offset == 0 && !msg.contains("byte "),
            "{name}: {msg}"
        );
        assert_eq!(msg, msg.to_lowercase(), "{name}: messages are lowercase");
        let err = analyze::analyze_file(&path).expect_err(name);
        assert_eq!(err.offset(), Some(offset), "{name}");
        for view in [ShowView::Packets, ShowView::Conversations, ShowView::Flows] {
            let args = ShowArgs::new(path.clone(), view);
            let err = analyze::show(&args, &mut Vec::new()).expect_err(name);
            assert!(
                matches!(err, ShowError::Wire(ref w) if w.offset() == Some(offset)),
                "{name}: {err}"
            );
        }
    }
}

#[test]
fn caplen_above_snaplen_is_read() {
    let dir = scratch("above-snaplen");
    let mut f = pcap_header(64, 1);
    f.extend(record(4, 4, b"abcd"));
    f.extend(record(65, 65, &[0; 65]));
    let path = write(&dir, "caplen-above-snaplen", &f);
    let capture = wire::read_file(&path).expect("a record above the snapshot length is read");
    assert_eq!(capture.frames.len(), 2);
    assert_eq!(capture.frames[1].data.len(), 65);
    analyze::analyze_file(&path).expect("and analysed");
}

#[test]
fn missing_file_names_the_path() {
    let err = wire::read_file(Path::new("/nonexistent/labctl/x.pcap")).expect_err("missing file");
    assert!(matches!(err, WireError::Open { .. }));
    assert!(
        err.to_string().contains("/nonexistent/labctl/x.pcap"),
        "{err}"
    );
}

/// A small deterministic generator, so a failure reproduces.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn exercise(bytes: &[u8]) {
    if let Some(a) = frames::read_and_render(bytes) {
        let _ = serde_json::to_string(&a).expect("analysis serialises");
    }
}

#[test]
fn mutated_captures_never_panic() {
    let dir = scratch("mutate");
    let mut s = Wire::nanosecond_clock();
    s.session(
        40000,
        21,
        b"USER anonymous\r\n",
        b"227 Entering Passive Mode (10,0,0,2,156,64)\r\n",
    );
    s.session(40001, 53, b"\x00\x1d\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x0f\x00\x01", b"");
    s.session(
        40002,
        80,
        b"GET / HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
    );
    s.udp_fragmented(CLIENT, SERVER, 5000, 9, &[b'x'; 2000], 576, 7);
    s.write_pcap(&dir.join("seed.pcap"), false, false);
    s.write_pcapng(&dir.join("seed.pcapng"));
    let seeds = [
        std::fs::read(dir.join("seed.pcap")).expect("seed"),
        std::fs::read(dir.join("seed.pcapng")).expect("seed"),
    ];
    for seed in &seeds {
        exercise(seed);
    }
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    for round in 0..4000 {
        let mut m = seeds[round % 2].clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(m.len());
            match rng.below(4) {
                0 => m[at] = rng.next() as u8,
                1 => m[at] ^= 1 << rng.below(8),
                2 => m.truncate(at),
                _ => {
                    let byte = rng.next() as u8;
                    m.insert(at, byte);
                }
            }
            if m.is_empty() {
                break;
            }
        }
        exercise(&m);
    }
}

#[test]
fn random_bytes_never_panic_the_dissector() {
    let mut rng = XorShift(42);
    let links = [1u32, 0, 101, 108, 113, 228, 229, 276, 147];
    for _ in 0..20000 {
        let len = rng.below(120);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Often start with a plausible header so the deeper layers get exercised too.
        if len > 20 && rng.below(2) == 0 {
            data[0] = 0x45;
            data[9] = [1u8, 6, 17][rng.below(3)];
        }
        let lt = wire::LinkType::from_u32(links[rng.below(links.len())]);
        let pkt = wire::dissect(lt, &data);
        let _ = pkt.payload_of(&data);
    }
}
