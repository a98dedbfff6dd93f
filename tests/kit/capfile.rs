//! Capture files built byte by byte, for the tests of the capture reader: classic pcap headers
//! and records, and pcapng blocks, well formed or with the lengths a test chooses to break.
//! Little-endian throughout, as the files the course's machines write.

use std::path::{Path, PathBuf};

/// The pcapng block type of a section header.
pub const SHB: u32 = 0x0A0D_0D0A;

pub fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// A classic pcap header (microseconds, version 2.4) with this snapshot length and link type.
pub fn pcap_header(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v.extend(le32(snaplen));
    v.extend(le32(linktype));
    v
}

/// A classic pcap record at second `sec`, its captured and original lengths as given (true
/// or not), then `data`.
pub fn pcap_record(sec: u32, caplen: u32, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [sec, 0, caplen, orig] {
        v.extend(le32(x));
    }
    v.extend_from_slice(data);
    v
}

/// A pcapng block with the total length and trailing length as given, the body as it is.
pub fn raw_block(kind: u32, len: u32, body: &[u8], trailer: u32) -> Vec<u8> {
    let mut v = le32(kind).to_vec();
    v.extend(le32(len));
    v.extend_from_slice(body);
    v.extend(le32(trailer));
    v
}

/// A well-formed pcapng block: the body padded to 4 bytes, both lengths right.
pub fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().next_multiple_of(4), 0);
    let len = 12 + body.len() as u32;
    raw_block(kind, len, &body, len)
}

/// pcapng options: code, length, value padded to 4, then opt_endofopt.
pub fn options(opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, value) in opts {
        v.extend(code.to_le_bytes());
        v.extend((value.len() as u16).to_le_bytes());
        v.extend_from_slice(value);
        v.resize(v.len().next_multiple_of(4), 0);
    }
    v.extend([0, 0, 0, 0]);
    v
}

/// The fixed part of a section header's body: byte-order magic, version 1.0, section length
/// unknown.
pub fn shb_body() -> Vec<u8> {
    let mut body = le32(0x1A2B_3C4D).to_vec();
    body.extend([1, 0, 0, 0]);
    body.extend([0xff; 8]);
    body
}

/// The fixed part of an interface description's body: link type, reserved, snapshot length.
pub fn idb_body(linktype: u16, snaplen: u32) -> Vec<u8> {
    let mut body = linktype.to_le_bytes().to_vec();
    body.extend([0, 0]);
    body.extend(le32(snaplen));
    body
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write the capture file");
    p
}
