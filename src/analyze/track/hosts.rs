//! What each host's own packets say about it, for the endpoint table: the DSCP and ECN values
//! it marks, how it numbers IPv4 identifications, its initial TTL (and so the likely operating
//! system family) and its distance from the capture point.
//!
//! Contract: state per host is a few counters and at most [`MAX_PROBES`] traceroute probes, so
//! memory grows with hosts, not packets. The distance is the host's likely initial TTL (32,
//! 64, 128 or 255) minus the largest TTL seen on its packets, leaving out traceroute probes
//! (UDP to ports 33434 and up and ICMP echo requests, each with a TTL below 32), whose TTL the sender
//! sets on purpose. A host seen only through its probes is placed by them: a probe's port (or
//! echo sequence number) gives its position, and with `q` probes per TTL, the TTL it was sent
//! with is `position / q + 1`; the distance is that minus the TTL seen, when one `q` from 1 to
//! 5 gives every probe the same distance, else it is unknown (never a wrong number).
//! Identifications: per direction of each conversation, the step from one datagram's id to
//! the next (as a stream shows them; Linux and Windows both count up per connection, Linux
//! from a random start per socket): `zero` when every id is 0, `incrementing` when at least
//! three steps in four are small (1 to 1024, wrapping), `random` otherwise; unknown when no
//! conversation of the host sent two datagrams with ids.

use super::*;

/// Probes kept per host to place it.
pub(super) const MAX_PROBES: usize = 64;
/// The first port of a UDP traceroute.
const TRACEROUTE_PORT: u16 = 33434;

/// Per host, besides its public [`Endpoint`].
#[derive(Debug, Default)]
pub(super) struct HostState {
    /// DSCP values sent, one bit each.
    dscp: u64,
    /// ECN codepoints sent, one bit each.
    ecn: u8,
    /// Largest TTL on packets that are not probes.
    max_ttl: Option<u8>,
    /// Probes: (position, TTL seen).
    probes: Vec<(u32, u8)>,
    ids_zero: u64,
    ids_nonzero: u64,
    id_steps: u64,
    id_jumps: u64,
}

/// A traceroute probe's position in its run, if the packet is one.
fn probe(ip: &wire::IpInfo, pkt: &Packet) -> Option<u32> {
    match &pkt.transport {
        // A reply to a client whose ephemeral port falls in the range is no probe: a probe
        // leaves with the small TTL of its hop.
        Transport::Udp(u)
            if u.dst_port >= TRACEROUTE_PORT
                && u.dst_port < TRACEROUTE_PORT + 512
                && ip.ttl < 32 =>
        {
            Some(u32::from(u.dst_port - TRACEROUTE_PORT))
        }
        Transport::Icmp(i) if i.echo() == Some(wire::dissect::EchoKind::Request) && ip.ttl < 32 => {
            Some(u32::from(i.echo_seq().saturating_sub(1)))
        }
        _ => None,
    }
}

impl HostState {
    /// One packet this host sent.
    pub(super) fn sent(&mut self, ip: &wire::IpInfo, pkt: &Packet) {
        self.dscp |= 1 << (ip.dscp & 63);
        self.ecn |= 1 << (ip.ecn & 3);
        match probe(ip, pkt) {
            Some(pos) if self.probes.len() < MAX_PROBES => self.probes.push((pos, ip.ttl)),
            Some(_) => {}
            None => self.max_ttl = Some(self.max_ttl.map_or(ip.ttl, |m| m.max(ip.ttl))),
        }
    }

    /// The identification of a datagram this host sent in a conversation; `last_id` is the
    /// previous one of that conversation's direction.
    pub(super) fn id(&mut self, ip: &wire::IpInfo, last_id: &mut Option<u16>) {
        if ip.version != 4 {
            return;
        }
        let id = ip.id as u16;
        if id == 0 {
            self.ids_zero += 1;
            return;
        }
        self.ids_nonzero += 1;
        if let Some(last) = last_id.replace(id) {
            match id.wrapping_sub(last) {
                // Fragments of one datagram.
                0 => {}
                1..=1024 => self.id_steps += 1,
                _ => self.id_jumps += 1,
            }
        }
    }

    /// What the host's packets say.
    pub(super) fn traits(&self) -> HostTraits {
        // Distance, initial TTL and family from the largest TTL; a host seen only through its
        // traceroute probes is placed by them.
        let (hops, initial_ttl) = match self.max_ttl {
            Some(ttl) => {
                let initial = initial_ttl(ttl);
                (Some(initial - ttl), Some(initial))
            }
            None => (probe_distance(&self.probes), None),
        };
        HostTraits {
            hops,
            initial_ttl,
            os: initial_ttl.and_then(os_family).map(str::to_string),
            dscp: (0..64u8)
                .filter(|d| self.dscp & (1 << d) != 0)
                .map(dscp_name)
                .collect(),
            ecn: (0..4u8)
                .filter(|c| self.ecn & (1 << c) != 0)
                .map(|c| ecn_name(c).to_string())
                .collect(),
            ip_id: match (self.ids_nonzero, self.id_steps + self.id_jumps) {
                (0, _) if self.ids_zero > 0 => Some("zero".into()),
                (_, 0) => None,
                (_, n) if self.id_steps * 4 >= n * 3 => Some("incrementing".into()),
                _ => Some("random".into()),
            },
        }
    }
}

/// The distance of a host seen only through its traceroute probes. See the module docs.
fn probe_distance(probes: &[(u32, u8)]) -> Option<u8> {
    (1..=5u32).find_map(|q| {
        let mut distances = probes
            .iter()
            .map(|&(pos, seen)| (pos / q + 1).checked_sub(u32::from(seen)));
        let first = distances.next()??;
        distances
            .all(|d| d == Some(first))
            .then(|| u8::try_from(first).ok())
            .flatten()
    })
}

/// The likely initial TTL of a packet seen with `ttl`.
pub(super) fn initial_ttl(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// The operating system family that starts packets with this TTL.
fn os_family(initial: u8) -> Option<&'static str> {
    match initial {
        64 => Some("Linux/Unix"),
        128 => Some("Windows"),
        255 => Some("network gear"),
        _ => None,
    }
}

/// A DSCP value by its name (RFC 2474, 2597, 3246, 5865, 8622), as Wireshark names them.
fn dscp_name(d: u8) -> String {
    match d {
        0 => "CS0".into(),
        1 => "LE".into(),
        46 => "EF".into(),
        44 => "VOICE-ADMIT".into(),
        d if d % 8 == 0 => format!("CS{}", d / 8),
        d if d % 2 == 0 && (1..=3).contains(&((d % 8) / 2)) && (1..=4).contains(&(d / 8)) => {
            format!("AF{}{}", d / 8, (d % 8) / 2)
        }
        d => format!("DSCP {d}"),
    }
}

/// An ECN codepoint by its name (RFC 3168).
fn ecn_name(c: u8) -> &'static str {
    match c {
        0 => "Not-ECT",
        1 => "ECT(1)",
        2 => "ECT(0)",
        _ => "CE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codepoints_have_their_names() {
        let names: Vec<String> = [0, 8, 10, 12, 14, 18, 26, 34, 38, 46, 48, 1, 3]
            .into_iter()
            .map(dscp_name)
            .collect();
        assert_eq!(
            names,
            [
                "CS0", "CS1", "AF11", "AF12", "AF13", "AF21", "AF31", "AF41", "AF43", "EF", "CS6",
                "LE", "DSCP 3"
            ]
        );
        assert_eq!(
            (0..4).map(ecn_name).collect::<Vec<_>>(),
            ["Not-ECT", "ECT(1)", "ECT(0)", "CE"]
        );
    }

    fn ids(list: &[u16]) -> Option<String> {
        let mut h = HostState::default();
        let mut last = None;
        for &id in list {
            let ip = wire::IpInfo {
                version: 4,
                src: IpAddr::from([10, 0, 0, 1]),
                dst: IpAddr::from([10, 0, 0, 2]),
                proto: 6,
                ttl: 64,
                dscp: 0,
                ecn: 0,
                id: u32::from(id),
                df: true,
                mf: false,
                frag_offset: 0,
                len: 40,
                flow_label: 0,
            };
            h.id(&ip, &mut last);
        }
        h.traits().ip_id
    }

    #[test]
    fn identifications_are_told_by_their_steps() {
        assert_eq!(ids(&[0, 0, 0]).as_deref(), Some("zero"));
        assert_eq!(
            ids(&[0, 700, 701, 702, 704]).as_deref(),
            Some("incrementing")
        );
        assert_eq!(ids(&[65534, 65535, 0, 1]).as_deref(), Some("incrementing"));
        assert_eq!(ids(&[9, 40000, 123, 5000]).as_deref(), Some("random"));
        assert_eq!(ids(&[77]), None);
    }

    #[test]
    fn a_reply_to_an_ephemeral_port_in_the_probe_range_is_no_probe() {
        use crate::analyze::fixture::{CLIENT, SERVER, Wire};
        let mut w = Wire::new();
        w.udp(CLIENT, SERVER, 33440, 53, b"query");
        w.udp(SERVER, CLIENT, 53, 33440, b"answer");
        let a = w.analyze();
        let server = a
            .endpoints
            .iter()
            .find(|e| e.addr == std::net::IpAddr::from(SERVER))
            .expect("the server is an endpoint");
        assert_eq!(server.traits.hops, Some(0));
    }

    #[test]
    fn a_host_seen_only_through_its_probes_is_placed_by_them() {
        // One probe per TTL, captured at the sender: TTLs 1, 2, 3 as sent.
        assert_eq!(probe_distance(&[(0, 1), (1, 2), (2, 3)]), Some(0));
        // Three per TTL, captured two routers away: the first two TTLs never arrive.
        let far: Vec<(u32, u8)> = (6..12).map(|i| (i, (i / 3 + 1 - 2) as u8)).collect();
        assert_eq!(probe_distance(&far), Some(2));
        // Nothing consistent: unknown, not a guess.
        assert_eq!(probe_distance(&[(0, 5), (1, 1), (2, 9)]), None);
    }
}
