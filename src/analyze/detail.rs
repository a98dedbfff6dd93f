//! `labctl show FILE --detail N`: every header field of frame N, layer by layer, with its
//! value and byte range (Wireshark's packet details, `tshark -V`), in text or JSON; with `-x`
//! the frame's bytes as `tshark -x` dumps them.
//!
//! Contract: frame numbers count every frame of the file from 1, as Wireshark's do; a number
//! past the last frame is [`ShowError::NoFrame`]. The fields are `wire::detail`'s, named and
//! valued as tshark's PDML names and values them.

use std::io::Write;

use serde::Serialize;

use super::show::{ShowArgs, ShowError};
use crate::wire::{self, detail};

#[derive(Serialize)]
struct DetailJson<'a> {
    frame: u64,
    /// Length on the wire, and captured.
    length: u32,
    captured: usize,
    layers: &'a [detail::Layer],
    #[serde(skip_serializing_if = "Option::is_none")]
    hex: Option<Vec<String>>,
}

/// Writes the detail of frame `n` of `args.file` to `out`.
pub(super) fn detail_out(args: &ShowArgs, n: u64, out: &mut dyn Write) -> Result<(), ShowError> {
    let mut reader = wire::open(&args.file)?;
    let mut count = 0;
    while let Some(frame) = reader.next_frame()? {
        count = frame.number;
        if frame.number != n {
            continue;
        }
        let layers = detail::layers(frame.linktype, frame.data);
        let hex = args.hex.then(|| detail::hex_dump(frame.data));
        if args.json {
            let doc = DetailJson {
                frame: n,
                length: frame.orig_len,
                captured: frame.data.len(),
                layers: &layers,
                hex,
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
            return Ok(());
        }
        writeln!(
            out,
            "Frame {n}: {} bytes on wire, {} bytes captured",
            frame.orig_len,
            frame.data.len()
        )?;
        for layer in &layers {
            writeln!(
                out,
                "{}, bytes {}-{}",
                layer.title,
                layer.offset,
                (layer.offset + layer.length).saturating_sub(1)
            )?;
            for f in &layer.fields {
                let range = format!("{}-{}", f.offset, f.offset + f.length - 1);
                writeln!(
                    out,
                    "    {:<22} {:<8} {}: {}",
                    f.name, range, f.title, f.value
                )?;
            }
        }
        if let Some(hex) = hex {
            writeln!(out)?;
            for line in hex {
                writeln!(out, "{line}")?;
            }
        }
        return Ok(());
    }
    Err(ShowError::NoFrame { frame: n, count })
}

/// `-x` beside the packet lines: the frame's dump after its line, then a blank line.
pub(super) fn hex_lines(out: &mut dyn Write, data: &[u8]) -> std::io::Result<()> {
    for line in detail::hex_dump(data) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)
}
