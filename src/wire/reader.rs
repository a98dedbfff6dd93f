//! Streaming reader for pcap and pcapng capture files.
//!
//! Contract: [`CaptureReader::next_frame`] yields the file's frames in file order, each as a
//! borrowed view ([`FrameRef`]) into one reusable buffer, or a [`WireError`] naming the byte
//! offset of the bad record. Memory is bounded by the largest single record, never by the file
//! size. Supported: classic pcap in micro- and nanosecond resolution and either byte order, and
//! pcapng with any number of sections and interfaces (per-interface link type, `if_tsresol` and
//! `if_tsoffset`); blocks the reader does not know are skipped.
//!
//! Invariants: a reader never panics on any input; after an error it yields nothing more, so a
//! caller cannot mistake a corrupt tail for a clean end of file.
//!
//! The record framing is hand-written rather than taken from `pcap-file`: that crate rejects
//! real files whose packets were cut to the snapshot length, ignores `if_tsresol`, and cannot
//! say at which byte a file went wrong, which is the one thing a student with a broken capture
//! needs to hear.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use super::{LinkType, WireError};

/// The largest record accepted, whatever the file's snapshot length claims. Larger records
/// mean a corrupt length field; refusing them keeps memory bounded.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;

/// Which container format a capture file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct FrameRef<'a> {
    /// 1-based frame number, as Wireshark counts.
    pub number: u64,
    /// Byte offset of the frame's record in the file.
    pub offset: u64,
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// Length of the frame on the wire (may exceed `data.len()` when the snapshot cut it).
    pub orig_len: u32,
    /// Link-layer header type of `data`.
    pub linktype: LinkType,
    /// The capture interface: 0 in a pcap file; in a pcapng file, the interface's position
    /// among all interfaces described so far (over every section), so state kept per
    /// interface never mixes two sections' interfaces.
    pub interface: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

impl FrameRef<'_> {
    /// An owned copy of this frame.
    pub fn to_owned(&self) -> Frame {
        Frame {
            number: self.number,
            ts: self.ts,
            orig_len: self.orig_len,
            linktype: self.linktype,
            data: self.data.to_vec(),
        }
    }
}

/// One captured frame, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// 1-based frame number.
    pub number: u64,
    /// Capture time since the Unix epoch.
    pub ts: Duration,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// Link-layer header type of `data`.
    pub linktype: LinkType,
    /// The captured bytes.
    pub data: Vec<u8>,
}

impl Frame {
    /// A borrowed view of this frame (its file offset is unknown: 0).
    pub fn as_ref(&self) -> FrameRef<'_> {
        FrameRef {
            number: self.number,
            offset: 0,
            ts: self.ts,
            orig_len: self.orig_len,
            linktype: self.linktype,
            interface: 0,
            data: &self.data,
        }
    }
}

/// A whole capture file in memory: for small files and tests. Big files go through
/// [`CaptureReader`].
#[derive(Clone, Debug)]
pub struct Capture {
    /// The file's container format.
    pub format: FileFormat,
    /// Every frame, in file order.
    pub frames: Vec<Frame>,
}

/// Reads a whole capture file into memory.
pub fn read_file(path: &Path) -> Result<Capture, WireError> {
    let mut reader = open(path)?;
    let format = reader.format();
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame()? {
        frames.push(frame.to_owned());
    }
    Ok(Capture { format, frames })
}

/// Opens a capture file for streaming.
pub fn open(path: &Path) -> Result<CaptureReader<File>, WireError> {
    let file = File::open(path).map_err(|source| WireError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    CaptureReader::new(file)
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: LinkType,
    snaplen: u32,
    /// Timestamp units: `Some(n)` for 10^-n seconds, `None` with `pow2` for 2^-n.
    tsresol: u8,
    tsoffset: i64,
}

#[derive(Debug)]
enum State {
    Pcap {
        big: bool,
        nanos: bool,
        snaplen: u32,
        linktype: LinkType,
    },
    PcapNg {
        big: bool,
        interfaces: Vec<Interface>,
    },
}

/// A streaming capture reader over any byte source.
#[derive(Debug)]
pub struct CaptureReader<R: Read> {
    src: R,
    buf: Vec<u8>,
    /// Valid bytes are `buf[start..end]`; `buf[start]` is at file offset `offset`.
    start: usize,
    end: usize,
    offset: u64,
    eof: bool,
    failed: bool,
    state: State,
    format: FileFormat,
    number: u64,
    /// Interfaces described in earlier pcapng sections.
    iface_base: u32,
    /// The interface of the frame last read.
    iface: u32,
}

fn rd16(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn rd32(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header and prepares to stream frames.
    pub fn new(src: R) -> Result<Self, WireError> {
        let mut reader = CaptureReader {
            src,
            buf: vec![0; 1024 * 1024],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            failed: false,
            state: State::PcapNg {
                big: false,
                interfaces: Vec::new(),
            },
            format: FileFormat::Pcap,
            number: 0,
            iface_base: 0,
            iface: 0,
        };
        if !reader.fill(4)? {
            if reader.available() == 0 {
                return Err(WireError::Empty);
            }
            return Err(reader.truncated("file header", 24));
        }
        let magic = rd32(reader.avail(), true);
        let (big, nanos) = match magic {
            0xA1B2_C3D4 => (true, false),
            0xA1B2_3C4D => (true, true),
            0xD4C3_B2A1 => (false, false),
            0x4D3C_B2A1 => (false, true),
            PCAPNG_SHB => {
                reader.format = FileFormat::PcapNg;
                // The section header block is read like any other block; its absence at the
                // start is what makes this not a pcapng file.
                return Ok(reader);
            }
            _ => return Err(WireError::BadMagic { magic }),
        };
        if !reader.fill(24)? {
            return Err(reader.truncated("pcap file header", 24));
        }
        let h = reader.avail();
        let snaplen = rd32(&h[16..], big);
        // The top bits of the link-type field carry FCS information, not the type.
        let linktype = LinkType::from_u32(rd32(&h[20..], big) & 0x03FF_FFFF);
        reader.state = State::Pcap {
            big,
            nanos,
            snaplen,
            linktype,
        };
        reader.consume(24);
        Ok(reader)
    }

    /// The container format of the file.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The link type of a classic pcap file (pcapng carries one per interface).
    pub fn pcap_linktype(&self) -> Option<LinkType> {
        match self.state {
            State::Pcap { linktype, .. } => Some(linktype),
            State::PcapNg { .. } => None,
        }
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn truncated(&self, what: &'static str, need: usize) -> WireError {
        WireError::Truncated {
            what,
            offset: self.offset,
            need: need as u64,
            have: self.available() as u64,
        }
    }

    /// Makes at least `need` bytes available; false when the file ends first.
    fn fill(&mut self, need: usize) -> Result<bool, WireError> {
        while self.available() < need {
            if self.eof {
                return Ok(false);
            }
            if self.buf.len() - self.start < need {
                // Move the unread tail to the front, and grow only for a record larger
                // than the buffer: memory follows the largest record, not the file.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.buf.len() < need {
                    self.buf.resize(need.next_power_of_two(), 0);
                }
            }
            let end = self.end;
            match self.src.read(&mut self.buf[end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(WireError::Read {
                        offset: self.offset + self.available() as u64,
                        source,
                    });
                }
            }
        }
        Ok(true)
    }

    /// The next frame, `Ok(None)` at a clean end of file.
    pub fn next_frame(&mut self) -> Result<Option<FrameRef<'_>>, WireError> {
        if self.failed {
            return Ok(None);
        }
        match self.next_inner() {
            Ok(Some((range, ts, orig_len, linktype, offset))) => {
                self.number += 1;
                Ok(Some(FrameRef {
                    number: self.number,
                    offset,
                    ts,
                    orig_len,
                    linktype,
                    interface: self.iface,
                    data: &self.buf[range],
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn next_inner(
        &mut self,
    ) -> Result<Option<(std::ops::Range<usize>, Duration, u32, LinkType, u64)>, WireError> {
        loop {
            match self.state {
                State::Pcap {
                    big,
                    nanos,
                    snaplen,
                    linktype,
                } => return self.next_pcap(big, nanos, snaplen, linktype),
                State::PcapNg { .. } => {
                    if let Some(frame) = self.next_pcapng_block()? {
                        return Ok(Some(frame));
                    }
                    if self.available() == 0 && self.eof {
                        return Ok(None);
                    }
                }
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn next_pcap(
        &mut self,
        big: bool,
        nanos: bool,
        snaplen: u32,
        linktype: LinkType,
    ) -> Result<Option<(std::ops::Range<usize>, Duration, u32, LinkType, u64)>, WireError> {
        if !self.fill(16)? {
            if self.available() == 0 {
                return Ok(None);
            }
            return Err(self.truncated("record header", 16));
        }
        let h = self.avail();
        let sec = rd32(h, big);
        let frac = rd32(&h[4..], big);
        let caplen = rd32(&h[8..], big);
        let orig_len = rd32(&h[12..], big);
        if snaplen != 0 && caplen > snaplen {
            return Err(WireError::CaplenAboveSnaplen {
                offset: self.offset,
                caplen,
                snaplen,
            });
        }
        if caplen as usize > MAX_RECORD {
            return Err(WireError::RecordTooLarge {
                offset: self.offset,
                len: caplen,
            });
        }
        let total = 16 + caplen as usize;
        if !self.fill(total)? {
            return Err(self.truncated("record", total));
        }
        let nanos = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        // Duration::new would carry an out-of-range fraction into seconds; doing it by hand
        // keeps the arithmetic in u64 where it cannot overflow.
        let ts = Duration::from_secs(u64::from(sec)) + Duration::from_nanos(nanos);
        let offset = self.offset;
        let range = self.start + 16..self.start + total;
        self.consume(total);
        Ok(Some((range, ts, orig_len, linktype, offset)))
    }

    /// Reads one pcapng block; frames come back, other blocks update the state or are skipped.
    #[allow(clippy::type_complexity)]
    fn next_pcapng_block(
        &mut self,
    ) -> Result<Option<(std::ops::Range<usize>, Duration, u32, LinkType, u64)>, WireError> {
        if !self.fill(8)? {
            if self.available() == 0 {
                return Ok(None);
            }
            return Err(self.truncated("pcapng block header", 8));
        }
        let offset = self.offset;
        let State::PcapNg { big, .. } = self.state else {
            return Ok(None);
        };
        let mut big = big;
        let block_type = rd32(self.avail(), big);
        let is_shb = block_type == PCAPNG_SHB || rd32(self.avail(), !big) == PCAPNG_SHB;
        if is_shb {
            // A section header sets the byte order for everything up to the next one; the
            // byte-order magic follows the length, so read it before trusting the length.
            if !self.fill(12)? {
                return Err(self.truncated("pcapng section header", 12));
            }
            big = match rd32(&self.avail()[8..], true) {
                PCAPNG_BOM => true,
                0x4D3C_2B1A => false,
                other => {
                    return Err(WireError::BadBlock {
                        offset,
                        what: format!("section header with unknown byte-order magic {other:#010x}"),
                    });
                }
            };
        }
        let len = rd32(&self.avail()[4..], big);
        let min = if is_shb { 28 } else { 12 };
        if len < min || len % 4 != 0 || len as usize > MAX_RECORD {
            return Err(WireError::BadBlockLength {
                offset,
                len,
                why: if len < min {
                    "shorter than a block can be"
                } else if len % 4 != 0 {
                    "not a multiple of 4"
                } else {
                    "larger than any record accepted"
                },
            });
        }
        let len = len as usize;
        if !self.fill(len)? {
            return Err(self.truncated("pcapng block", len));
        }
        let block = &self.buf[self.start..self.start + len];
        if rd32(&block[len - 4..], big) as usize != len {
            return Err(WireError::BadBlockLength {
                offset,
                len: len as u32,
                why: "trailing length differs from leading length",
            });
        }
        let body_start = self.start + 8;
        let body = &block[8..len - 4];
        let mut frame = None;
        match block_type {
            _ if is_shb => {
                if let State::PcapNg { interfaces, .. } = &self.state {
                    self.iface_base = self.iface_base.saturating_add(interfaces.len() as u32);
                }
                self.state = State::PcapNg {
                    big,
                    interfaces: Vec::new(),
                };
            }
            PCAPNG_IDB => {
                if body.len() < 8 {
                    return Err(WireError::BadBlock {
                        offset,
                        what: "interface description shorter than 8 bytes".into(),
                    });
                }
                let mut iface = Interface {
                    linktype: LinkType::from_u32(u32::from(rd16(body, big))),
                    snaplen: rd32(&body[4..], big),
                    tsresol: 6,
                    tsoffset: 0,
                };
                for (code, value) in options(&body[8..], big) {
                    match (code, value.len()) {
                        (9, 1) => iface.tsresol = value[0],
                        (14, 8) => {
                            let hi = rd32(value, big);
                            let lo = rd32(&value[4..], big);
                            iface.tsoffset = ((u64::from(hi) << 32) | u64::from(lo)) as i64;
                        }
                        _ => {}
                    }
                }
                if let State::PcapNg { interfaces, .. } = &mut self.state {
                    interfaces.push(iface);
                }
            }
            PCAPNG_EPB | PCAPNG_PB => {
                if body.len() < 20 {
                    return Err(WireError::BadBlock {
                        offset,
                        what: "packet block shorter than 20 bytes".into(),
                    });
                }
                let id = if block_type == PCAPNG_EPB {
                    rd32(body, big)
                } else {
                    u32::from(rd16(body, big))
                };
                let units =
                    (u64::from(rd32(&body[4..], big)) << 32) | u64::from(rd32(&body[8..], big));
                let caplen = rd32(&body[12..], big);
                let orig_len = rd32(&body[16..], big);
                let iface = self.interface(offset, id)?;
                self.iface = self.iface_base.saturating_add(id);
                if caplen as usize > body.len() - 20 {
                    return Err(WireError::BadBlock {
                        offset,
                        what: format!(
                            "captured length {caplen} runs past the end of its block ({} bytes of data)",
                            body.len() - 20
                        ),
                    });
                }
                if iface.snaplen != 0 && caplen > iface.snaplen {
                    return Err(WireError::CaplenAboveSnaplen {
                        offset,
                        caplen,
                        snaplen: iface.snaplen,
                    });
                }
                let ts = timestamp(units, iface.tsresol, iface.tsoffset);
                let start = body_start + 20;
                frame = Some((
                    start..start + caplen as usize,
                    ts,
                    orig_len,
                    iface.linktype,
                    offset,
                ));
            }
            PCAPNG_SPB => {
                if body.len() < 4 {
                    return Err(WireError::BadBlock {
                        offset,
                        what: "simple packet block shorter than 4 bytes".into(),
                    });
                }
                let orig_len = rd32(body, big);
                let iface = self.interface(offset, 0)?;
                self.iface = self.iface_base;
                // A simple packet block has no captured length: it is the original length cut
                // to the snapshot length and to the block.
                let mut caplen = (orig_len as usize).min(body.len() - 4);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                let start = body_start + 4;
                frame = Some((
                    start..start + caplen,
                    Duration::ZERO,
                    orig_len,
                    iface.linktype,
                    offset,
                ));
            }
            // Statistics, name resolution, journal, custom and unknown blocks carry nothing
            // the analysis uses.
            _ => {}
        }
        self.consume(len);
        Ok(frame)
    }

    fn interface(&self, offset: u64, id: u32) -> Result<Interface, WireError> {
        let State::PcapNg { interfaces, .. } = &self.state else {
            return Err(WireError::UnknownInterface {
                offset,
                id,
                count: 0,
            });
        };
        interfaces
            .get(id as usize)
            .copied()
            .ok_or(WireError::UnknownInterface {
                offset,
                id,
                count: interfaces.len(),
            })
    }
}

/// Iterates pcapng options (code, value); a malformed option list just ends early.
fn options(mut b: &[u8], big: bool) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let code = rd16(b, big);
        let len = rd16(&b[2..], big) as usize;
        if code == 0 || b.len() < 4 + len {
            return None;
        }
        let value = &b[4..4 + len];
        let padded = (4 + len + 3) & !3;
        b = b.get(padded..).unwrap_or(&[]);
        Some((code, value))
    })
}

/// Converts pcapng timestamp units to time since the epoch.
fn timestamp(units: u64, tsresol: u8, tsoffset: i64) -> Duration {
    let exp = u32::from(tsresol & 0x7F);
    let nanos: u128 = if tsresol & 0x80 == 0 {
        if exp <= 9 {
            u128::from(units) * 10u128.pow(9 - exp)
        } else {
            u128::from(units) / 10u128.pow(exp.min(38) - 9)
        }
    } else {
        (u128::from(units) * 1_000_000_000) >> exp.min(127)
    };
    let secs = (nanos / 1_000_000_000) as u64;
    let sub = (nanos % 1_000_000_000) as u64;
    let base = Duration::from_secs(secs) + Duration::from_nanos(sub);
    if tsoffset >= 0 {
        base.saturating_add(Duration::from_secs(tsoffset as u64))
    } else {
        base.saturating_sub(Duration::from_secs(tsoffset.unsigned_abs()))
    }
}

/// Owned frames from a reader, as an iterator.
pub struct Frames<R: Read> {
    reader: CaptureReader<R>,
}

impl<R: Read> CaptureReader<R> {
    /// Turns the reader into an iterator of owned frames (each one copied).
    pub fn into_frames(self) -> Frames<R> {
        Frames { reader: self }
    }
}

impl<R: Read> Iterator for Frames<R> {
    type Item = Result<Frame, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader
            .next_frame()
            .map(|f| f.map(|f| f.to_owned()))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: [u8; 4], big: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
        let mut v = magic.to_vec();
        let w16 = |v: &mut Vec<u8>, x: u16| {
            v.extend(if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend(if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, snaplen);
        w32(&mut v, linktype);
        v
    }

    fn pcap_record(big: bool, sec: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [sec, frac, data.len() as u32, orig] {
            v.extend(if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            });
        }
        v.extend_from_slice(data);
        v
    }

    fn frames(bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
        CaptureReader::new(bytes)?.into_frames().collect()
    }

    #[test]
    fn pcap_little_endian_microseconds() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 65535, 1);
        f.extend(pcap_record(false, 10, 500_000, b"abc", 60));
        f.extend(pcap_record(false, 11, 1, b"de", 2));
        let got = frames(&f).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].ts, Duration::new(10, 500_000_000));
        assert_eq!(got[0].orig_len, 60);
        assert_eq!(got[0].data, b"abc");
        assert_eq!(got[0].linktype, LinkType::Ethernet);
        assert_eq!(got[1].ts, Duration::new(11, 1000));
        assert_eq!(got[1].number, 2);
    }

    #[test]
    fn pcap_big_endian_nanoseconds_cooked() {
        let mut f = pcap_header([0xa1, 0xb2, 0x3c, 0x4d], true, 262144, 276);
        f.extend(pcap_record(true, 7, 123_456_789, b"xyz", 3));
        let got = frames(&f).unwrap();
        assert_eq!(got[0].ts, Duration::new(7, 123_456_789));
        assert_eq!(got[0].linktype, LinkType::LinuxSll2);
    }

    #[test]
    fn empty_and_garbage_files_are_refused() {
        assert!(matches!(frames(b""), Err(WireError::Empty)));
        let e = frames(b"GET / HTTP/1.1\r\n\r\nmore bytes here").unwrap_err();
        assert!(
            matches!(e, WireError::BadMagic { magic: 0x4745_5420 }),
            "{e}"
        );
        assert!(e.to_string().contains("at byte 0"));
        let e = frames(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap_err();
        assert!(matches!(e, WireError::Truncated { offset: 0, .. }), "{e}");
    }

    #[test]
    fn truncated_record_names_its_offset() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 65535, 1);
        f.extend(pcap_record(false, 1, 0, b"abcd", 4));
        let mut cut = pcap_record(false, 2, 0, b"abcdef", 6);
        cut.truncate(19);
        f.extend(cut);
        let e = frames(&f).unwrap_err();
        // 24-byte file header + 20-byte first record.
        assert!(
            matches!(
                e,
                WireError::Truncated {
                    offset: 44,
                    need: 22,
                    have: 19,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "truncated record at byte 44: need 22 bytes, the file has 19"
        );
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 65535, 1);
        f.extend([1, 2, 3]);
        assert!(matches!(
            frames(&f),
            Err(WireError::Truncated { offset: 24, .. })
        ));
    }

    #[test]
    fn caplen_above_snaplen_is_refused() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 4, 1);
        f.extend(pcap_record(false, 1, 0, b"abcdef", 6));
        let e = frames(&f).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::CaplenAboveSnaplen {
                    offset: 24,
                    caplen: 6,
                    snaplen: 4
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn huge_length_is_refused_without_allocating() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 0, 1);
        f.extend([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        assert!(matches!(
            frames(&f),
            Err(WireError::RecordTooLarge { offset: 24, .. })
        ));
    }

    fn block(big: bool, kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        let w = |x: u32| {
            if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        let mut v = w(kind).to_vec();
        v.extend(w(len));
        v.extend(body);
        v.extend(w(len));
        v
    }

    fn shb(big: bool) -> Vec<u8> {
        let mut body = if big {
            PCAPNG_BOM.to_be_bytes()
        } else {
            PCAPNG_BOM.to_le_bytes()
        }
        .to_vec();
        body.extend(if big { [0, 1, 0, 0] } else { [1, 0, 0, 0] });
        body.extend([0xff; 8]);
        block(big, PCAPNG_SHB, &body)
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend([0, 0]);
        body.extend(65535u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend(9u16.to_le_bytes());
            body.extend(1u16.to_le_bytes());
            body.extend([r, 0, 0, 0]);
            body.extend([0, 0, 0, 0]);
        }
        block(false, PCAPNG_IDB, &body)
    }

    fn epb(iface: u32, units: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend(((units >> 32) as u32).to_le_bytes());
        body.extend((units as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(false, PCAPNG_EPB, &body)
    }

    #[test]
    fn pcapng_interfaces_resolutions_and_unknown_blocks() {
        let mut f = shb(false);
        f.extend(idb(1, None));
        f.extend(idb(113, Some(9)));
        f.extend(block(false, 0x0BAD_0001, b"custom stuff"));
        f.extend(epb(0, 1_500_000, b"one"));
        f.extend(epb(1, 2_000_000_001, b"two!"));
        let got = frames(&f).unwrap();
        assert_eq!(got.len(), 2);
        // Interface 0 has the default microsecond resolution.
        assert_eq!(got[0].ts, Duration::new(1, 500_000_000));
        assert_eq!(got[0].linktype, LinkType::Ethernet);
        assert_eq!(got[1].ts, Duration::new(2, 1));
        assert_eq!(got[1].linktype, LinkType::LinuxSll);
        assert_eq!(got[1].data, b"two!");
    }

    #[test]
    fn pcapng_big_endian_section() {
        let mut f = shb(true);
        let mut body = 1u16.to_be_bytes().to_vec();
        body.extend([0, 0]);
        body.extend(0u32.to_be_bytes());
        f.extend(block(true, PCAPNG_IDB, &body));
        let mut body = 0u32.to_be_bytes().to_vec();
        body.extend(0u32.to_be_bytes());
        body.extend(3_000_000u32.to_be_bytes());
        body.extend(2u32.to_be_bytes());
        body.extend(2u32.to_be_bytes());
        body.extend(b"hi");
        f.extend(block(true, PCAPNG_EPB, &body));
        let got = frames(&f).unwrap();
        assert_eq!(got[0].ts, Duration::new(3, 0));
        assert_eq!(got[0].data, b"hi");
    }

    #[test]
    fn pcapng_bad_lengths_and_interfaces() {
        let mut f = shb(false);
        let at = f.len() as u64;
        f.extend([1, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let e = frames(&f).unwrap_err();
        assert!(
            matches!(e, WireError::BadBlockLength { offset, len: 13, .. } if offset == at),
            "{e}"
        );

        let mut f = shb(false);
        let mut b = idb(1, None);
        let n = b.len();
        b[n - 4] = 0x40;
        f.extend(b);
        let e = frames(&f).unwrap_err();
        assert!(e.to_string().contains("trailing length differs"), "{e}");

        let mut f = shb(false);
        f.extend(epb(3, 0, b"x"));
        let e = frames(&f).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::UnknownInterface {
                    id: 3,
                    count: 0,
                    ..
                }
            ),
            "{e}"
        );

        let mut f = shb(false);
        f.extend(idb(1, None));
        let mut cut = epb(0, 0, b"abcdefgh");
        cut.truncate(20);
        let at = f.len() as u64;
        f.extend(cut);
        let e = frames(&f).unwrap_err();
        assert!(
            matches!(e, WireError::Truncated { offset, .. } if offset == at),
            "{e}"
        );
    }

    #[test]
    fn tsresol_power_of_two() {
        assert_eq!(timestamp(3, 0x81, 0), Duration::from_millis(1500));
        assert_eq!(timestamp(5, 0, 10), Duration::from_secs(15));
        assert_eq!(timestamp(5, 0, -2), Duration::from_secs(3));
        assert_eq!(timestamp(u64::MAX, 0x7f, 0), Duration::ZERO);
    }

    #[test]
    fn every_prefix_of_a_valid_file_reads_or_errs() {
        let mut f = shb(false);
        f.extend(idb(1, Some(6)));
        f.extend(epb(0, 1, b"payload bytes"));
        for n in 0..f.len() {
            let _ = frames(&f[..n]);
        }
        let mut p = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 65535, 1);
        p.extend(pcap_record(false, 1, 0, b"abcdefgh", 8));
        for n in 0..p.len() {
            let r = frames(&p[..n]);
            if n < p.len() {
                assert!(r.is_err() || n == 24, "prefix {n} should not read cleanly");
            }
        }
    }

    #[test]
    fn reading_one_byte_at_a_time_matches() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 65535, 1);
        for i in 0..50u8 {
            f.extend(pcap_record(false, u32::from(i), 0, &[i; 300], 300));
        }
        let slow: Vec<Frame> = CaptureReader::new(Trickle(&f))
            .unwrap()
            .into_frames()
            .map(Result::unwrap)
            .collect();
        assert_eq!(slow, frames(&f).unwrap());
    }
}
