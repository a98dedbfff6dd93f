//! wire: capture files in, dissected packets out.
//!
//! Two halves, usable on their own:
//!
//! - [`reader`]: pcap (micro/nanosecond, either byte order) and pcapng (several sections and
//!   interfaces, unknown blocks skipped) read as a stream of [`FrameRef`]s through one bounded
//!   buffer ([`open`], [`CaptureReader`]), in place from a file the caller mapped
//!   ([`open_with`]), or whole into memory ([`read_file`]). A bad file is a [`WireError`]
//!   carrying the byte offset of the bad record.
//! - [`dissect()`]: one frame's bytes -> an owned [`Packet`] summary (link, ARP/IPv4/IPv6,
//!   ICMP/ICMPv6 with the quoted header, TCP/UDP, DNS, DHCP ([`dhcp`], also written by the
//!   server and client) and FTP/SMTP/HTTP command lines).
//!   Headers come from etherparse, DNS from hickory-proto.
//! - [`reassembly`]: IP fragments held until the one that completes their datagram.
//!
//! Invariants: nothing here panics on any input (fuzzed); payloads are never copied by the
//! dissector, a [`Packet`] only names the byte range of its payload inside the frame; nothing
//! here depends on the rest of the crate.

pub mod app;
pub mod detail;
pub mod dhcp;
pub mod dissect;
pub mod names;
pub mod reader;
pub mod reassembly;

use std::fmt;
use std::path::PathBuf;

pub use app::{App, AppProto, Dns, DnsQuestion, DnsRecord};
pub use dissect::{
    Arp, Icmp, IpInfo, Link, Mac, Net, Packet, Quoted, Tcp, TcpFlags, TcpOption, Transport, Udp,
    dissect,
};
pub use reader::{
    Capture, CaptureReader, FileFormat, Frame, FrameRef, Frames, Mapped, Oversized, open,
    open_with, read_file,
};

/// Link-layer header type of a frame (the pcap LINKTYPE_ registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    Null,
    /// Ethernet II (also what Linux loopback captures look like, with zero addresses).
    Ethernet,
    /// Raw IPv4 or IPv6, no link header.
    Raw,
    /// Raw IPv4.
    Ipv4,
    /// Raw IPv6.
    Ipv6,
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    Loop,
    /// Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    LinuxSll,
    /// Linux cooked capture v2 (`tcpdump -i any`).
    LinuxSll2,
    /// Anything else: frames are counted but not dissected.
    Other(u32),
}

impl LinkType {
    /// Maps a LINKTYPE_ number.
    pub fn from_u32(v: u32) -> LinkType {
        match v {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            // 12 and 14 are the historical DLT_RAW values some systems wrote into files.
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The LINKTYPE_ number.
    pub fn as_u32(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(v) => v,
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkType::Null => f.write_str("null"),
            LinkType::Ethernet => f.write_str("ethernet"),
            LinkType::Raw => f.write_str("raw"),
            LinkType::Ipv4 => f.write_str("ipv4"),
            LinkType::Ipv6 => f.write_str("ipv6"),
            LinkType::Loop => f.write_str("loop"),
            LinkType::LinuxSll => f.write_str("linux-sll"),
            LinkType::LinuxSll2 => f.write_str("linux-sll2"),
            LinkType::Other(v) => write!(f, "linktype {v}"),
        }
    }
}

/// Why a capture file could not be read. Every variant about the file's content names the
/// byte offset where the problem starts.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path given.
        path: PathBuf,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// Reading failed part way.
    #[error("read error at byte {offset}: {source}")]
    Read {
        /// Offset of the first byte not read.
        offset: u64,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("empty file: 0 bytes, not a pcap or pcapng capture")]
    Empty,
    /// The first four bytes are neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng file: unknown magic number {magic:#010x} at byte 0")]
    BadMagic {
        /// The first four bytes, big-endian.
        magic: u32,
    },
    /// The file ends inside a header or record.
    #[error("truncated {what} at byte {offset}: need {need} bytes, the file has {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Its length.
        need: u64,
        /// The bytes left in the file.
        have: u64,
    },
    /// A record claims more captured bytes than the snapshot length and
    /// [`reader::MAX_SNAPLEN`] allow.
    #[error(
        "record at byte {offset}: captured length {caplen} exceeds the snapshot length {snaplen} and the 262144 bytes read above it"
    )]
    CaplenAboveSnaplen {
        /// Where the record starts.
        offset: u64,
        /// Its captured length.
        caplen: u32,
        /// The file's (or interface's) snapshot length.
        snaplen: u32,
    },
    /// A record longer than any real one: a corrupt length field.
    #[error(
        "record at byte {offset}: captured length {len} is larger than any record accepted (16777216 bytes)"
    )]
    RecordTooLarge {
        /// Where the record starts.
        offset: u64,
        /// The claimed length.
        len: u32,
    },
    /// A pcapng block length that cannot be right.
    #[error("pcapng block at byte {offset}: bad block length {len} ({why})")]
    BadBlockLength {
        /// Where the block starts.
        offset: u64,
        /// The length field.
        len: u32,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A pcapng block whose content is inconsistent.
    #[error("pcapng block at byte {offset}: {what}")]
    BadBlock {
        /// Where the block starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A pcapng packet naming an interface no block described.
    #[error("pcapng packet at byte {offset}: interface {id} was never described ({count} known)")]
    UnknownInterface {
        /// Where the block starts.
        offset: u64,
        /// The interface id in the packet.
        id: u32,
        /// How many interfaces the section describes.
        count: usize,
    },
}

impl WireError {
    /// The byte offset the error refers to, when it refers to one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            WireError::Open { .. } => None,
            WireError::Empty | WireError::BadMagic { .. } => Some(0),
            WireError::Read { offset, .. }
            | WireError::Truncated { offset, .. }
            | WireError::CaplenAboveSnaplen { offset, .. }
            | WireError::RecordTooLarge { offset, .. }
            | WireError::BadBlockLength { offset, .. }
            | WireError::BadBlock { offset, .. }
            | WireError::UnknownInterface { offset, .. } => Some(*offset),
        }
    }
}
