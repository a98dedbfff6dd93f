//! Transcripts as the renderings show them: payload bytes cut into escaped display lines, and
//! values that change from run to run (FTP data ports, HTTP dates) masked. The escaping rule
//! itself is [`crate::text::escape`], the program's one rule.

use crate::text::escape;

/// How much of a transcript a snapshot shows.
pub const SHOW_LINES: usize = 24;
/// The longest piece of one line shown on one snapshot line.
pub const SHOW_WIDTH: usize = 96;

/// Splits a transcript into quoted, escaped display lines: one per line of the payload (a
/// line keeps its newline), long lines cut into pieces of [`SHOW_WIDTH`] bytes, at most
/// [`SHOW_LINES`] of them, then a count of what was left out. `total` is the transcript's full
/// length, which may exceed `bytes`.
pub fn transcript_lines(bytes: &[u8], total: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut shown = 0u64;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        for piece in line.chunks(SHOW_WIDTH) {
            if out.len() == SHOW_LINES {
                out.push(format!("... {} more bytes", total - shown));
                return out;
            }
            out.push(format!("\"{}\"", escape(piece)));
            shown += piece.len() as u64;
        }
    }
    if total > shown {
        out.push(format!("... {} more bytes", total - shown));
    }
    out
}

/// Replaces values that differ between runs of the same lab with a placeholder: the port
/// numbers of FTP PASV/EPSV replies and PORT/EPRT commands (when `ftp`), and HTTP date headers
/// (when `http`). Returns the masked bytes and whether anything changed length.
pub fn mask_volatile(bytes: &[u8], ftp: bool, http: bool) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut resized = false;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let (masked, changed) = mask_line(line, ftp, http);
        resized |= changed;
        out.extend_from_slice(&masked);
    }
    (out, resized)
}

fn mask_line(line: &[u8], ftp: bool, http: bool) -> (Vec<u8>, bool) {
    let upper: Vec<u8> = line.iter().take(16).map(u8::to_ascii_uppercase).collect();
    let starts = |p: &[u8]| upper.starts_with(p);
    if ftp && (starts(b"227 ") || starts(b"PORT ")) {
        // h1,h2,h3,h4,p1,p2: keep the address, hide the two port bytes.
        if let Some(masked) = mask_six_numbers(line) {
            return (masked, true);
        }
    }
    if ftp && (starts(b"229 ") || starts(b"EPRT ")) {
        if let Some(masked) = mask_last_field(line) {
            return (masked, true);
        }
    }
    for h in [&b"DATE:"[..], b"LAST-MODIFIED:", b"EXPIRES:"] {
        if http && starts(h) {
            let mut m = line[..h.len()].to_vec();
            m.extend_from_slice(b" *");
            let tail: &[u8] = if line.ends_with(b"\r\n") {
                b"\r\n"
            } else if line.ends_with(b"\n") {
                b"\n"
            } else {
                b""
            };
            m.extend_from_slice(tail);
            // Dates have a fixed length, so the byte counts stay true: not a resize.
            return (m, false);
        }
    }
    (line.to_vec(), false)
}

fn mask_six_numbers(line: &[u8]) -> Option<Vec<u8>> {
    let start = 4 + line.get(4..)?.iter().position(u8::is_ascii_digit)?;
    let len = line[start..]
        .iter()
        .position(|b| !b.is_ascii_digit() && *b != b',')
        .unwrap_or(line.len() - start);
    let field = &line[start..start + len];
    let commas: Vec<usize> = field
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b',')
        .map(|(i, _)| i)
        .collect();
    if commas.len() != 5 {
        return None;
    }
    let mut out = line[..start + commas[3] + 1].to_vec();
    out.extend_from_slice(b"*,*");
    out.extend_from_slice(&line[start + len..]);
    Some(out)
}

fn mask_last_field(line: &[u8]) -> Option<Vec<u8>> {
    // (|||port|) or |1|addr|port|: the port is the digits before the last delimiter.
    let body_end = line.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
    let body = &line[..body_end];
    let close = body.iter().rposition(|&b| b == b'|' || b == b'!')?;
    let start = body[..close].iter().rposition(|b| !b.is_ascii_digit())? + 1;
    if start == close {
        return None;
    }
    let mut out = line[..start].to_vec();
    out.push(b'*');
    out.extend_from_slice(&line[close..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_splits_lines_and_counts_the_rest() {
        let lines = transcript_lines(b"USER a\r\nPASS b\r\n", 16);
        assert_eq!(lines, vec!["\"USER a\\r\\n\"", "\"PASS b\\r\\n\""]);
        let big = vec![b'x'; 5000];
        let lines = transcript_lines(&big, 5000);
        assert_eq!(lines.len(), SHOW_LINES + 1);
        assert_eq!(
            lines.last().map(String::as_str),
            Some(format!("... {} more bytes", 5000 - SHOW_LINES * SHOW_WIDTH).as_str())
        );
        let lines = transcript_lines(b"abc", 10);
        assert_eq!(lines, vec!["\"abc\"", "... 7 more bytes"]);
    }

    #[test]
    fn pasv_and_port_ports_are_masked() {
        let (m, resized) = mask_volatile(
            b"227 Entering Passive Mode (10,0,0,2,156,64).\r\n",
            true,
            false,
        );
        assert_eq!(m, b"227 Entering Passive Mode (10,0,0,2,*,*).\r\n");
        assert!(resized);
        let (m, _) = mask_volatile(b"PORT 10,0,0,1,200,10\r\n", true, false);
        assert_eq!(m, b"PORT 10,0,0,1,*,*\r\n");
        let (m, _) = mask_volatile(
            b"229 Entering Extended Passive Mode (|||40001|)\r\n",
            true,
            false,
        );
        assert_eq!(m, b"229 Entering Extended Passive Mode (|||*|)\r\n");
        let (m, _) = mask_volatile(b"EPRT |1|10.0.0.1|6275|\r\n", true, false);
        assert_eq!(m, b"EPRT |1|10.0.0.1|*|\r\n");
    }

    #[test]
    fn http_dates_are_masked_without_resizing() {
        let (m, resized) = mask_volatile(
            b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
            false,
            true,
        );
        assert_eq!(m, b"HTTP/1.1 200 OK\r\nDate: *\r\n\r\n");
        assert!(!resized);
    }

    #[test]
    fn other_lines_are_untouched() {
        let (m, resized) = mask_volatile(b"227 ready (1,2,3,4,5,6)\r\nDate: x\r\n", false, false);
        assert_eq!(m, b"227 ready (1,2,3,4,5,6)\r\nDate: x\r\n");
        assert!(!resized);
    }
}
