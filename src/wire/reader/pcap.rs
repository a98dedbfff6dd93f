//! Classic pcap record framing: a 24-byte file header, then records of a 16-byte header
//! (seconds, fraction, captured length, original length) and the captured bytes.
//!
//! Contract: [`CaptureReader::next_pcap`] yields the next record or the error at its byte
//! offset; a captured length above the snapshot length is read when it is at most
//! [`super::MAX_SNAPLEN`] (and counted in [`super::Oversized`]), and refused before anything is
//! allocated when it is above that or above [`MAX_RECORD`].

use std::io::Read;
use std::time::Duration;

use super::{CaptureReader, MAX_RECORD, rd32};
use crate::wire::{LinkType, WireError};

/// Length of a pcap record header.
const RECORD_HEADER: usize = 16;

impl<R: Read> CaptureReader<R> {
    #[allow(clippy::type_complexity)]
    pub(super) fn next_pcap(
        &mut self,
        big: bool,
        nanos: bool,
        snaplen: u32,
        linktype: LinkType,
    ) -> Result<Option<(std::ops::Range<usize>, Duration, u32, LinkType, u64)>, WireError> {
        if !self.fill(RECORD_HEADER)? {
            if self.available() == 0 {
                return Ok(None);
            }
            return Err(self.truncated("record header", RECORD_HEADER));
        }
        let h = self.avail();
        let sec = rd32(h, big);
        let frac = rd32(&h[4..], big);
        let caplen = rd32(&h[8..], big);
        let orig_len = rd32(&h[12..], big);
        self.check_caplen(self.offset, caplen, snaplen)?;
        if caplen as usize > MAX_RECORD {
            return Err(WireError::RecordTooLarge {
                offset: self.offset,
                len: caplen,
            });
        }
        let total = RECORD_HEADER + caplen as usize;
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
        let range = self.start + RECORD_HEADER..self.start + total;
        self.consume(total);
        Ok(Some((range, ts, orig_len, linktype, offset)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::CaptureReader;
    use super::super::tests::{frames, pcap_header, pcap_record};
    use crate::wire::{LinkType, WireError};

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
    fn caplen_above_snaplen_is_read_up_to_the_maximum_snapshot_length() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 4, 1);
        f.extend(pcap_record(false, 1, 0, b"abcdef", 6));
        f.extend(pcap_record(false, 2, 0, b"ab", 2));
        f.extend(pcap_record(false, 3, 0, b"abcde", 9));
        let mut reader = CaptureReader::new(&f[..]).unwrap();
        let mut got = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            got.push(frame.data.to_vec());
        }
        assert_eq!(got, [&b"abcdef"[..], b"ab", b"abcde"]);
        let o = reader.oversized();
        assert_eq!(o.count, 2);
        // 24-byte file header; the first oversized record is the first record.
        assert_eq!(o.first, Some((24, 6, 4)));
        assert!(o.to_string().contains("first at byte 24"), "{o}");

        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 4, 1);
        f.extend([0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x04, 0x00, 0, 0, 0, 0]);
        let e = frames(&f).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::CaplenAboveSnaplen {
                    offset: 24,
                    caplen: 262_145,
                    snaplen: 4
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn snaplen_zero_means_no_limit() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 0, 1);
        f.extend(pcap_record(false, 1, 0, &[7; 300_000], 300_000));
        assert_eq!(frames(&f).unwrap()[0].data.len(), 300_000);
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
}
