//! Streaming reader for pcap and pcapng capture files: the buffer, the format sniffing and the
//! frame types here; the record framing of each format in [`pcap`] and [`pcapng`].
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

mod pcap;
mod pcapng;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use super::{LinkType, WireError};

/// The largest record accepted, whatever the file's snapshot length claims. Larger records
/// mean a corrupt length field; refusing them keeps memory bounded.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;

/// The largest captured length accepted above a file's snapshot length: libpcap's and
/// Wireshark's maximum snapshot length. Writers get the header's snapshot length wrong (old
/// Solaris, hand-made and fuzzed files) and both tools read such records rather than refuse
/// the file, so labctl does too; a record above this and above the snapshot length is corrupt.
pub const MAX_SNAPLEN: u32 = 262_144;

/// Records whose captured length exceeded their snapshot length but were read anyway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Oversized {
    /// How many records.
    pub count: u64,
    /// The first one: its byte offset, captured length and snapshot length.
    pub first: Option<(u64, u32, u32)>,
}

impl fmt::Display for Oversized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((offset, caplen, snaplen)) = self.first else {
            return f.write_str("no record exceeds its snapshot length");
        };
        write!(
            f,
            "{} record(s) captured more bytes than the snapshot length, read anyway as libpcap \
             does (first at byte {offset}: {caplen} bytes, snapshot length {snaplen})",
            self.count
        )
    }
}

use pcapng::{Interface, PCAPNG_SHB};

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
    open_with(path, |_| None)
}

/// Opens a capture file, read in place from memory when `map` maps it (a one-shot command
/// reading a large file), else streamed.
pub fn open_with(
    path: &Path,
    map: impl FnOnce(&File) -> Option<Mapped>,
) -> Result<CaptureReader<File>, WireError> {
    let file = File::open(path).map_err(|source| WireError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    match map(&file) {
        Some(bytes) => CaptureReader::whole(file, bytes),
        None => CaptureReader::new(file),
    }
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
    buf: Buf,
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
    /// Records read although longer than their snapshot length.
    oversized: Oversized,
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

/// The bytes a reader holds: a window it refills from its source, or a whole file already
/// in memory (mapped by the caller), read in place with no copy.
#[derive(Debug)]
enum Buf {
    Window(Vec<u8>),
    Whole(Whole),
}

/// A whole file in memory, and how to let go of the part already read.
#[derive(Debug)]
struct Whole {
    bytes: &'static [u8],
    /// Gives back the memory of bytes that will not be read again (they stay readable).
    release: fn(&'static [u8]),
    /// Bytes before this offset were given back.
    released: usize,
}

/// How much is read between two releases.
const RELEASE_STEP: usize = 8 << 20;

impl std::ops::Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Buf::Window(v) => v,
            Buf::Whole(w) => w.bytes,
        }
    }
}

/// A whole file mapped into memory by the caller (see [`open_with`]), and what gives back the
/// memory of the part already read, so a large file is read in a few MiB.
pub type Mapped = (&'static [u8], fn(&'static [u8]));

impl<R: Read> CaptureReader<R> {
    /// Reads a whole capture file already in memory (the file `src`, mapped by the caller),
    /// frames pointing into it, nothing copied; `src` itself is not read.
    pub fn whole(src: R, (bytes, release): Mapped) -> Result<Self, WireError> {
        let whole = Whole {
            bytes,
            release,
            released: 0,
        };
        Self::start(src, Buf::Whole(whole), bytes.len(), true)
    }

    /// Reads the file header and prepares to stream frames.
    pub fn new(src: R) -> Result<Self, WireError> {
        Self::start(src, Buf::Window(vec![0; 1024 * 1024]), 0, false)
    }

    fn start(src: R, buf: Buf, end: usize, eof: bool) -> Result<Self, WireError> {
        let mut reader = CaptureReader {
            src,
            buf,
            start: 0,
            end,
            offset: 0,
            eof,
            failed: false,
            state: State::PcapNg {
                big: false,
                interfaces: Vec::new(),
            },
            format: FileFormat::Pcap,
            number: 0,
            iface_base: 0,
            iface: 0,
            oversized: Oversized::default(),
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

    /// The records read so far whose captured length exceeded the snapshot length.
    pub fn oversized(&self) -> Oversized {
        self.oversized
    }

    /// Checks a record's captured length against its snapshot length: above it is noted and
    /// accepted up to [`MAX_SNAPLEN`] (a snapshot length of 0 means "none", as in libpcap);
    /// above both it is an error at `offset`.
    fn check_caplen(&mut self, offset: u64, caplen: u32, snaplen: u32) -> Result<(), WireError> {
        if snaplen == 0 || caplen <= snaplen {
            return Ok(());
        }
        if caplen > MAX_SNAPLEN {
            return Err(WireError::CaplenAboveSnaplen {
                offset,
                caplen,
                snaplen,
            });
        }
        self.oversized.count += 1;
        self.oversized
            .first
            .get_or_insert((offset, caplen, snaplen));
        Ok(())
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
        // No frame handed out earlier is still borrowed here.
        if let Buf::Whole(w) = &mut self.buf {
            if self.start - w.released >= RELEASE_STEP {
                (w.release)(&w.bytes[w.released..self.start]);
                w.released = self.start;
            }
        }
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
            // A whole file in memory is at its end from the start.
            let Buf::Window(buf) = &mut self.buf else {
                return Ok(false);
            };
            if self.eof {
                return Ok(false);
            }
            if buf.len() - self.start < need {
                // Move the unread tail to the front, and grow only for a record larger
                // than the buffer: memory follows the largest record, not the file.
                buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if buf.len() < need {
                    buf.resize(need.next_power_of_two(), 0);
                }
            }
            let end = self.end;
            match self.src.read(&mut buf[end..]) {
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
    use super::pcapng::{PCAPNG_BOM, PCAPNG_EPB, PCAPNG_IDB};
    use super::*;

    pub(super) fn pcap_header(magic: [u8; 4], big: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
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

    pub(super) fn pcap_record(big: bool, sec: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
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

    static RELEASED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count_release(read: &'static [u8]) {
        RELEASED.fetch_add(read.len(), std::sync::atomic::Ordering::Relaxed);
    }

    #[test]
    fn a_whole_file_in_memory_reads_as_the_stream_and_gives_back_what_was_read() {
        let mut file = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 65535, 1);
        let data = [7u8; 1500];
        for i in 0..12_000u32 {
            file.extend(pcap_record(false, i, 0, &data, 1500));
        }
        let streamed = frames(&file).unwrap();
        let bytes: &'static [u8] = Box::leak(file.into_boxed_slice());
        let whole: Vec<Frame> = CaptureReader::whole(io::empty(), (bytes, count_release))
            .unwrap()
            .into_frames()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(whole.len(), 12_000);
        assert!(whole == streamed);
        let released = RELEASED.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            released >= RELEASE_STEP && released <= bytes.len(),
            "{released}"
        );
    }

    pub(super) fn frames(bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
        CaptureReader::new(bytes)?.into_frames().collect()
    }

    pub(super) fn block(big: bool, kind: u32, body: &[u8]) -> Vec<u8> {
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

    pub(super) fn shb(big: bool) -> Vec<u8> {
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

    pub(super) fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
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

    pub(super) fn epb(iface: u32, units: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend(((units >> 32) as u32).to_le_bytes());
        body.extend((units as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(false, PCAPNG_EPB, &body)
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
