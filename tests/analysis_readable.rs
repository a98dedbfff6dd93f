//! Odd but readable capture files: whatever libpcap and Wireshark read, labctl reads, frame for
//! frame. Each file below is built byte by byte (a captured length above the snapshot length, a
//! snapshot length of 0, a link type labctl does not dissect, pcapng with interfaces of several
//! link types, comments, options and block types nobody knows, nanosecond and big-endian pcap)
//! and `labctl show --count` must count what `tshark -r F | wc -l` counts.

mod kit;

use std::path::{Path, PathBuf};

use kit::capfile::{
    SHB, block, idb_body, le32, options, pcap_header, pcap_record, shb_body, write,
};
use kit::frames::{CLIENT, SERVER, Wire};
use kit::tshark::tshark;
use kit::{labctl, scratch};

/// Ethernet frames of one short TCP session and a UDP datagram.
fn wire() -> Wire {
    let mut w = Wire::nanosecond_clock();
    w.session(
        40000,
        80,
        b"GET / HTTP/1.0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\n",
    );
    w.udp(CLIENT, SERVER, 5353, 53, b"hello");
    w
}

/// A classic pcap of `wire`'s frames under the given header fields.
fn pcap(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut f = pcap_header(snaplen, linktype);
    for (i, frame) in wire().frames.iter().enumerate() {
        let len = frame.data.len() as u32;
        f.extend(pcap_record(1_700_000_000 + i as u32, len, len, &frame.data));
    }
    f
}

fn shb(comment: &str) -> Vec<u8> {
    let mut body = shb_body();
    body.extend(options(&[
        (1, comment.as_bytes()),
        (3, b"a test's own bytes"),
    ]));
    block(SHB, &body)
}

fn idb(linktype: u16, snaplen: u32, name: &str, tsresol: u8) -> Vec<u8> {
    let mut body = idb_body(linktype, snaplen);
    body.extend(options(&[
        (2, name.as_bytes()),
        (9, &[tsresol]),
        (1, b"an interface"),
    ]));
    block(1, &body)
}

fn epb(iface: u32, units: u64, data: &[u8], comment: &str) -> Vec<u8> {
    let mut body = le32(iface).to_vec();
    body.extend(le32((units >> 32) as u32));
    body.extend(le32(units as u32));
    body.extend(le32(data.len() as u32));
    body.extend(le32(data.len() as u32));
    body.extend_from_slice(data);
    body.resize(body.len().next_multiple_of(4), 0);
    body.extend(options(&[(1, comment.as_bytes())]));
    block(6, &body)
}

/// Two sections; interfaces of three link types (Ethernet, raw IP, one labctl does not
/// dissect); comments and options everywhere; a name resolution block, an interface
/// statistics block and a block type of local use nobody defined, between the packets.
fn pcapng_mixed() -> Vec<u8> {
    let frames = wire().frames;
    let mut f = shb("first section");
    f.extend(idb(1, 65535, "eth0", 9));
    f.extend(idb(101, 65535, "tun0", 6));
    f.extend(idb(147, 0, "user0", 3));
    for (i, frame) in frames.iter().enumerate() {
        let units = 1_700_000_000_000 + i as u64;
        match i % 3 {
            0 => f.extend(epb(0, units * 1_000_000, &frame.data, "on ethernet")),
            // The same IP packet without its 14-byte Ethernet header.
            1 => f.extend(epb(1, units * 1000, &frame.data[14..], "raw ip")),
            _ => f.extend(epb(2, units, &frame.data, "user link type")),
        }
        if i == 2 {
            // NRB: one IPv4 record (10.0.0.2 server), then end of records.
            let mut nrb = vec![1, 0, 11, 0, 10, 0, 0, 2];
            nrb.extend(b"server\0");
            nrb.resize(nrb.len().next_multiple_of(4), 0);
            nrb.extend([0, 0, 0, 0]);
            f.extend(block(4, &nrb));
            let mut isb = le32(0).to_vec();
            isb.extend([0; 8]);
            isb.extend(options(&[(1, b"statistics")]));
            f.extend(block(5, &isb));
            f.extend(block(0x8000_0BAD, b"nobody knows this block"));
        }
    }
    f.extend(shb("second section"));
    f.extend(idb(1, 65535, "eth1", 6));
    f.extend(epb(0, 1_700_000_100_000_000, &frames[0].data, "again"));
    f
}

/// The files, each with the name it is reported under.
fn corpus(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let above = pcap(13, 1);
    let w = wire();
    let nanos = dir.join("nanos.pcap");
    w.write_pcap(&nanos, false, true);
    let big = dir.join("big.pcap");
    w.write_pcap(&big, true, false);
    let big_nanos = dir.join("big-nanos.pcap");
    w.write_pcap(&big_nanos, true, true);
    vec![
        ("caplen-above-snaplen", write(dir, "above.pcap", &above)),
        ("snaplen-0", write(dir, "zero.pcap", &pcap(0, 1))),
        (
            "unknown-linktype",
            write(dir, "user0.pcap", &pcap(65535, 147)),
        ),
        ("pcapng-mixed", write(dir, "mixed.pcapng", &pcapng_mixed())),
        ("nanosecond-pcap", nanos),
        ("big-endian-pcap", big),
        ("big-endian-nanosecond-pcap", big_nanos),
    ]
}

fn labctl_count(path: &Path) -> u64 {
    let out = labctl()
        .args(["show", "--count"])
        .arg(path)
        .output()
        .expect("run labctl");
    assert!(
        out.status.success(),
        "labctl show --count {}: exit {:?}: {}",
        path.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

#[test]
fn every_file_tshark_reads_has_the_same_frame_count() {
    let dir = scratch("readable");
    let mut total = 0;
    for (name, path) in corpus(&dir) {
        let theirs = tshark(&path, &[]).lines().count() as u64;
        let ours = labctl_count(&path);
        assert!(theirs > 0, "{name}: tshark read no frame");
        assert_eq!(
            ours, theirs,
            "{name}: labctl counts {ours}, tshark {theirs}"
        );
        total += ours;
    }
    // Every frame of every file, the mixed pcapng one more in its second section: no file
    // was read short on both sides.
    assert_eq!(total, 7 * wire().frames.len() as u64 + 1);
}

#[test]
fn an_oversized_record_is_read_whole_and_warned_about_in_verbose() {
    let dir = scratch("oversized");
    let (_, path) = corpus(&dir).remove(0);
    let plain = kit::show::<&str>(&path, &[]);
    assert!(plain.status.success(), "{plain:?}");
    assert!(plain.stderr.is_empty(), "no warning without -v: {plain:?}");
    let text = String::from_utf8_lossy(&plain.stdout);
    // The HTTP request is past byte 13: read whole, as Wireshark does.
    assert!(text.contains("GET / HTTP/1.0"), "{text}");
    let verbose = labctl()
        .args(["show", "-v"])
        .arg(&path)
        .output()
        .expect("run labctl");
    assert!(verbose.status.success(), "{verbose:?}");
    let err = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        err.contains("warning: 11 record(s) captured more bytes than the snapshot length")
            && err.contains("first at byte 24")
            && err.contains("snapshot length 13"),
        "{err}"
    );
}

#[test]
fn an_undissected_link_type_is_shown_named_not_refused() {
    let dir = scratch("linktype");
    let path = write(&dir, "user0.pcap", &pcap(65535, 147));
    let out = kit::show::<&str>(&path, &[]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 11, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains("linktype 147 (not dissected), length") && !l.contains("malformed")),
        "every frame names its link type: {text}"
    );
}
