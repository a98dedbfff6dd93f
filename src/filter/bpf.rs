//! Capture filters: BPF expressions compiled and run by libpcap.
//!
//! Contract: [`CaptureFilter::new`] compiles the expression for Ethernet at once, so a bad
//! expression is refused with libpcap's own message before anything is read;
//! [`CaptureFilter::matches`] compiles it again for any other link type the first time a
//! frame of that type comes (a pcapng file may mix interfaces) and runs libpcap's offline
//! filter on the captured bytes, so the answer is tcpdump's.

use crate::wire::{FrameRef, LinkType};

use super::FilterError;

/// A compiled BPF expression. See the module documentation.
pub struct CaptureFilter {
    expr: String,
    programs: Vec<(LinkType, pcap::BpfProgram)>,
}

impl std::fmt::Debug for CaptureFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureFilter")
            .field("expr", &self.expr)
            .finish_non_exhaustive()
    }
}

fn compile(expr: &str, linktype: LinkType) -> Result<pcap::BpfProgram, FilterError> {
    let fail = |e: pcap::Error| {
        let msg = match e {
            pcap::Error::PcapError(m) => m,
            other => other.to_string(),
        };
        FilterError::new(0, expr, msg)
    };
    let dead = pcap::Capture::dead(pcap::Linktype(linktype.as_u32() as i32)).map_err(fail)?;
    dead.compile(expr, true).map_err(fail)
}

impl CaptureFilter {
    /// Compiles `expr`; see the module documentation.
    pub fn new(expr: &str) -> Result<CaptureFilter, FilterError> {
        let program = compile(expr, LinkType::Ethernet)?;
        Ok(CaptureFilter {
            expr: expr.to_string(),
            programs: vec![(LinkType::Ethernet, program)],
        })
    }

    /// Whether libpcap's filter accepts the frame. Fails only when the expression does not
    /// compile for the frame's link type (`ether host` on raw IP).
    pub fn matches(&mut self, frame: &FrameRef<'_>) -> Result<bool, FilterError> {
        let i = match self.programs.iter().position(|(l, _)| *l == frame.linktype) {
            Some(i) => i,
            None => {
                let p = compile(&self.expr, frame.linktype)?;
                self.programs.push((frame.linktype, p));
                self.programs.len() - 1
            }
        };
        Ok(self.programs[i].1.filter(frame.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpcap_judges_the_syntax() {
        assert!(CaptureFilter::new("host 10.0.0.2 and port 23").is_ok());
        let e = CaptureFilter::new("host 10.0.0.2 and").unwrap_err();
        assert!(e.problem.contains("syntax error"), "{e}");
        assert!(CaptureFilter::new("portt 23").is_err());
    }
}
