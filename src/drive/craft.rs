//! `craft` steps: frames labctl builds and sends through a packet socket on the step host's
//! interface, as `announce` does, for attacks no Debian program makes.
//!
//! Contract: the frames are addressed to the target's own MAC address and lab address on the
//! link they share (resolved at load), so they never leave that link. Sending is the step's
//! whole effect; a kernel that drops them (as Linux drops every bogus IP version) is what the
//! lesson shows, not a failure.

use std::net::{IpAddr, Ipv4Addr};

use super::{ProgramError, ROUTED, StepResult};
use crate::scenario::{Action, CraftKind, StepOutcome, StepPlan};
use crate::topology::{self, Lab};

/// The version nibbles of the bogus datagrams (7 first, as in the document), never 4 or 6.
const VERSIONS: [u8; 10] = [7, 5, 0, 15, 9, 1, 3, 8, 12, 14];
/// Their total lengths, from the document's 120 to 1271 bytes.
const LENGTHS: [u16; 10] = [120, 1271, 180, 576, 240, 1000, 360, 800, 150, 1200];

/// Runs one `craft` step.
pub(super) async fn drive(
    lab: &Lab,
    step: &StepPlan,
    r: &mut StepResult,
) -> Result<(), ProgramError> {
    let Action::Craft(craft) = &step.action else {
        unreachable!("{ROUTED}")
    };
    let host = lab.host(step.host);
    let src = lab
        .addresses
        .iter()
        .find(|a| a.host == step.host && a.iface == craft.iface)
        .map(|a| a.addr);
    let (Some(IpAddr::V4(src)), IpAddr::V4(dst)) = (src, craft.target_addr) else {
        return fail(
            r,
            format!("{} has no IPv4 address to craft from", craft.iface),
        );
    };
    let macs = (
        topology::mac_of(host, &craft.iface).await,
        topology::mac_of(lab.host(craft.target), &craft.target_iface).await,
    );
    let (src_mac, dst_mac) = match macs {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(r, e.to_string()),
    };
    let frames: Vec<Vec<u8>> = match craft.what {
        CraftKind::BogusIpVersion => VERSIONS
            .iter()
            .zip(LENGTHS)
            .enumerate()
            .map(|(i, (v, len))| bogus_ip(src_mac, dst_mac, src, dst, *v, len, i as u16))
            .collect(),
    };
    let name = craft.iface.clone();
    let count = frames.len();
    let sent = host
        .netns
        .run(move || crate::capture::send_frames(&name, &frames));
    match sent {
        Ok(Ok(())) => {
            r.detail = format!(
                "{count} IPv4 frames to {dst} with versions {}",
                VERSIONS.map(|v| v.to_string()).join(", ")
            )
        }
        Ok(Err(e)) => return fail(r, format!("cannot send on {}: {e}", craft.iface)),
        Err(e) => return fail(r, e.to_string()),
    }
    Ok(())
}

fn fail(r: &mut StepResult, detail: String) -> Result<(), ProgramError> {
    r.outcome = StepOutcome::Failed;
    r.detail = detail;
    Ok(())
}

/// An Ethernet frame of EtherType IPv4 carrying an IPv4 header whose version nibble is
/// `version`, otherwise well formed (IHL 5, UDP, its checksum right), padded with zeros to
/// `total` bytes of IP.
fn bogus_ip(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    version: u8,
    total: u16,
    id: u16,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + usize::from(total));
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![
        (version << 4) | 5,
        0,
        (total >> 8) as u8,
        total as u8,
        (id >> 8) as u8,
        id as u8,
        0,
        0,
        64,
        17,
        0,
        0,
    ];
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.resize(usize::from(total), 0);
    f.extend_from_slice(&ip);
    f
}

/// The Internet checksum of a header.
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bogus_version_frame_is_what_the_dissector_calls_bogus() {
        let f = bogus_ip(
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            Ipv4Addr::new(10, 0, 0, 66),
            Ipv4Addr::new(10, 0, 0, 2),
            7,
            120,
            1,
        );
        assert_eq!(f.len(), 14 + 120);
        assert_eq!(f[14] >> 4, 7);
        assert_eq!(checksum(&f[14..34]), 0, "the header checksum is right");
        let p = crate::wire::dissect(crate::wire::LinkType::Ethernet, &f);
        assert!(!matches!(p.net, crate::wire::Net::Ip(_)), "{p:?}");
    }
}
