//! pcapng block framing: sections (either byte order), interface descriptions (link type,
//! snapshot length, `if_tsresol`, `if_tsoffset`), enhanced, simple and obsolete packet blocks;
//! any other block is skipped.
//!
//! Contract: [`CaptureReader::next_pcapng_block`] reads one block and yields a frame when the
//! block holds one; every length is checked before use and a bad one is an error naming the
//! block's byte offset.

use std::io::Read;
use std::time::Duration;

use super::{CaptureReader, MAX_RECORD, State, rd16, rd32};
use crate::wire::{LinkType, WireError};

pub(super) const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
pub(super) const PCAPNG_IDB: u32 = 1;
pub(super) const PCAPNG_PB: u32 = 2;
pub(super) const PCAPNG_SPB: u32 = 3;
pub(super) const PCAPNG_EPB: u32 = 6;
pub(super) const PCAPNG_BOM: u32 = 0x1A2B_3C4D;

#[derive(Clone, Copy, Debug)]
pub(super) struct Interface {
    linktype: LinkType,
    snaplen: u32,
    /// Timestamp units: `Some(n)` for 10^-n seconds, `None` with `pow2` for 2^-n.
    tsresol: u8,
    tsoffset: i64,
}

impl<R: Read> CaptureReader<R> {
    /// Reads one pcapng block; frames come back, other blocks update the state or are skipped.
    #[allow(clippy::type_complexity)]
    pub(super) fn next_pcapng_block(
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
                self.check_caplen(offset, caplen, iface.snaplen)?;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::{block, epb, frames, idb, shb};
    use super::*;

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
}
