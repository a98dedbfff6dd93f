//! DHCP server (RFC 2131): a pool and reservations by MAC, answering DISCOVER, REQUEST,
//! DECLINE, RELEASE and INFORM.
//!
//! Contract:
//! - [`Server::respond`] maps one client message to at most one reply and where it goes, with
//!   no I/O (strings of bytes in, a [`Reply`] out): DISCOVER gets an OFFER (a reservation for
//!   the client's MAC first, then the address the client already holds or asks for when it is
//!   free, then the lowest free address of the range); REQUEST naming this server gets an ACK
//!   for the offered address or a NAK; REQUEST naming another server withdraws this server's
//!   offer and gets nothing; a REQUEST without server identifier (INIT-REBOOT, RENEWING,
//!   REBINDING) gets an ACK when it matches the client's lease, a NAK when it names an address
//!   this server knows to be wrong, and nothing for a client it has no record of; DECLINE
//!   marks the address unusable; RELEASE frees the lease; INFORM gets an ACK with the
//!   parameters and no lease.
//! - Every reply carries the server identifier; OFFER and ACK carry the lease time, T1 (half
//!   the lease) and T2 (seven eighths), the subnet mask, the broadcast address, and the router,
//!   DNS servers and domain name when configured; the server's host name is in `sname`.
//! - Where a reply goes (RFC 2131 4.1): to the relay agent (`giaddr`, port 67) when there is
//!   one; to `ciaddr` when the client has an address; else broadcast when the client set the
//!   broadcast flag or the reply is a NAK; else unicast to the offered address at the client's
//!   hardware address ([`Dest::Hardware`]), which needs a frame written below IP.
//! - Leases do not expire while the server runs: a lab is shorter than any lease.
//!
//! Invariants: no input panics (fuzzed); malformed messages, replies (op 2) and non-Ethernet
//! clients get no answer.

pub mod shell;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::wire::dhcp::{self, BROADCAST, Message, MessageType, code};

pub use shell::{
    DhcpCliArgs, DhcpSocket, bound_udp, mac_of, parse_lease, parse_range, serve, serve_cli,
};

/// What a server hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpConfig {
    /// The server's own address: its identifier, and the source of its replies.
    pub server: Ipv4Addr,
    /// The prefix length of the served network.
    pub prefix: u8,
    /// The pool, first and last address included.
    pub range: (Ipv4Addr, Ipv4Addr),
    /// Default router offered, if any.
    pub router: Option<Ipv4Addr>,
    /// DNS servers offered.
    pub dns: Vec<Ipv4Addr>,
    /// Domain name offered, if any.
    pub domain: Option<String>,
    /// Lease time.
    pub lease: Duration,
    /// Fixed addresses by client MAC.
    pub reservations: BTreeMap<[u8; 6], Ipv4Addr>,
    /// Waited before each reply (to make one of two servers answer last).
    pub delay: Duration,
    /// The server's host name, written in `sname`.
    pub name: Option<String>,
}

impl DhcpConfig {
    fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(
            u32::MAX
                .checked_shl(32 - u32::from(self.prefix))
                .unwrap_or(0),
        )
    }

    fn in_subnet(&self, a: Ipv4Addr) -> bool {
        let m = u32::from(self.mask());
        u32::from(a) & m == u32::from(self.server) & m
    }

    fn in_range(&self, a: Ipv4Addr) -> bool {
        (self.range.0..=self.range.1).contains(&a)
    }
}

/// Where a reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// To a relay agent's address, port 67.
    Relay(Ipv4Addr),
    /// To the client's own address, port 68.
    Client(Ipv4Addr),
    /// To 255.255.255.255, port 68.
    Broadcast,
    /// To `ip`, port 68, in a frame addressed to `mac` (the client cannot answer ARP yet).
    Hardware {
        /// The address given.
        ip: Ipv4Addr,
        /// The client's MAC.
        mac: [u8; 6],
    },
}

/// One reply and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply.
    pub message: Message,
    /// Its destination.
    pub dest: Dest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    addr: Ipv4Addr,
    bound: bool,
}

/// A server's configuration and its leases.
#[derive(Debug, Clone)]
pub struct Server {
    config: DhcpConfig,
    leases: BTreeMap<[u8; 6], Lease>,
    declined: BTreeSet<Ipv4Addr>,
}

impl Server {
    /// A server with no lease yet.
    pub fn new(config: DhcpConfig) -> Server {
        Server {
            config,
            leases: BTreeMap::new(),
            declined: BTreeSet::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &DhcpConfig {
        &self.config
    }

    /// The address leased (offered or bound) to `mac`, if any.
    pub fn lease_of(&self, mac: [u8; 6]) -> Option<Ipv4Addr> {
        self.leases.get(&mac).map(|l| l.addr)
    }

    /// Answers one message (its UDP payload). See the module documentation.
    pub fn respond(&mut self, bytes: &[u8]) -> Option<Reply> {
        let req = dhcp::parse(bytes).ok()?;
        if req.op != 1 || req.htype != 1 || req.hlen != 6 {
            return None;
        }
        let kind = req.message_type()?;
        let mac = req.mac();
        let server_id = req.addr(code::SERVER_ID);
        if let Some(id) = server_id
            && id != self.config.server
        {
            // The client chose another server (or declines/releases with another): an offer
            // of ours is withdrawn, a lease of ours is not touched.
            if kind == MessageType::Request && self.leases.get(&mac).is_some_and(|l| !l.bound) {
                self.leases.remove(&mac);
            }
            return None;
        }
        match kind {
            MessageType::Discover => {
                let addr = self.choose(mac, req.addr(code::REQUESTED_IP))?;
                self.leases.insert(mac, Lease { addr, bound: false });
                Some(self.reply(&req, MessageType::Offer, addr))
            }
            MessageType::Request => self.request(&req, mac, server_id.is_some()),
            MessageType::Decline => {
                let addr = req.addr(code::REQUESTED_IP)?;
                if self.lease_of(mac) == Some(addr) {
                    self.leases.remove(&mac);
                }
                self.declined.insert(addr);
                None
            }
            MessageType::Release => {
                if self.lease_of(mac) == Some(req.ciaddr) {
                    self.leases.remove(&mac);
                }
                None
            }
            MessageType::Inform => Some(self.reply(&req, MessageType::Ack, Ipv4Addr::UNSPECIFIED)),
            _ => None,
        }
    }

    fn request(&mut self, req: &Message, mac: [u8; 6], selecting: bool) -> Option<Reply> {
        let held = self.leases.get(&mac).copied();
        // SELECTING and INIT-REBOOT name the address in option 50; RENEWING and REBINDING
        // clients already use it as ciaddr.
        let wanted = req
            .addr(code::REQUESTED_IP)
            .or(Some(req.ciaddr).filter(|a| !a.is_unspecified()))?;
        match held {
            Some(l) if l.addr == wanted => {
                self.leases.insert(
                    mac,
                    Lease {
                        addr: wanted,
                        bound: true,
                    },
                );
                Some(self.reply(req, MessageType::Ack, wanted))
            }
            _ if selecting => Some(self.nak(req, "address not offered to this client")),
            Some(_) => Some(self.nak(req, "address not leased to this client")),
            None if !self.config.in_subnet(wanted) => Some(self.nak(req, "wrong network")),
            // No record of this client: RFC 2131 4.3.2 says stay silent.
            None => None,
        }
    }

    /// The address to offer `mac`.
    fn choose(&self, mac: [u8; 6], asked: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
        if let Some(&a) = self.config.reservations.get(&mac) {
            return Some(a);
        }
        if let Some(l) = self.leases.get(&mac) {
            return Some(l.addr);
        }
        let free = |a: Ipv4Addr| {
            self.config.in_range(a)
                && a != self.config.server
                && !self.declined.contains(&a)
                && !self.leases.values().any(|l| l.addr == a)
                && !self.config.reservations.values().any(|&r| r == a)
        };
        if let Some(a) = asked.filter(|&a| free(a)) {
            return Some(a);
        }
        let (lo, hi) = (
            u32::from(self.config.range.0),
            u32::from(self.config.range.1),
        );
        // A pool is at most a /16 in practice; the bound keeps a silly range from spinning.
        (lo..=hi)
            .take(1 << 16)
            .map(Ipv4Addr::from)
            .find(|&a| free(a))
    }

    /// An OFFER or ACK giving `yiaddr` (unspecified for an INFORM's ACK).
    fn reply(&self, req: &Message, kind: MessageType, yiaddr: Ipv4Addr) -> Reply {
        let c = &self.config;
        let mut m = self.base(req, kind);
        m.yiaddr = yiaddr;
        if !yiaddr.is_unspecified() {
            let lease = u32::try_from(c.lease.as_secs()).unwrap_or(u32::MAX);
            m.push(code::LEASE_TIME, lease.to_be_bytes());
            m.push(code::RENEWAL_TIME, (lease / 2).to_be_bytes());
            m.push(code::REBINDING_TIME, (lease / 8 * 7).to_be_bytes());
        }
        m.push(code::SUBNET_MASK, c.mask().octets());
        let bcast = u32::from(c.server) | !u32::from(c.mask());
        m.push(code::BROADCAST_ADDRESS, Ipv4Addr::from(bcast).octets());
        if let Some(r) = c.router {
            m.push(code::ROUTER, r.octets());
        }
        if !c.dns.is_empty() {
            m.push(
                code::DNS,
                c.dns.iter().flat_map(|a| a.octets()).collect::<Vec<_>>(),
            );
        }
        if let Some(d) = &c.domain {
            m.push(code::DOMAIN_NAME, d.as_bytes().to_vec());
        }
        let dest = dest(req, false, yiaddr);
        Reply { message: m, dest }
    }

    fn nak(&self, req: &Message, why: &str) -> Reply {
        let mut m = self.base(req, MessageType::Nak);
        m.push(code::MESSAGE, why.as_bytes().to_vec());
        Reply {
            message: m,
            dest: dest(req, true, Ipv4Addr::UNSPECIFIED),
        }
    }

    /// A reply to `req` with its type and the server identifier.
    fn base(&self, req: &Message, kind: MessageType) -> Message {
        let mut m = Message::new(2, req.xid, req.mac());
        m.chaddr = req.chaddr;
        m.flags = req.flags & BROADCAST;
        m.giaddr = req.giaddr;
        if kind != MessageType::Nak {
            m.ciaddr = req.ciaddr;
        }
        if let Some(n) = &self.config.name {
            m.sname = n.as_bytes().to_vec();
        }
        m.push(code::MESSAGE_TYPE, [kind.as_u8()]);
        m.push(code::SERVER_ID, self.config.server.octets());
        m
    }
}

/// RFC 2131 4.1's choice of destination.
fn dest(req: &Message, nak: bool, yiaddr: Ipv4Addr) -> Dest {
    if !req.giaddr.is_unspecified() {
        Dest::Relay(req.giaddr)
    } else if !nak && !req.ciaddr.is_unspecified() {
        Dest::Client(req.ciaddr)
    } else if nak || req.broadcast() || yiaddr.is_unspecified() {
        Dest::Broadcast
    } else {
        Dest::Hardware {
            ip: yiaddr,
            mac: req.mac(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x10];
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    fn config() -> DhcpConfig {
        DhcpConfig {
            server: SERVER,
            prefix: 24,
            range: (Ipv4Addr::new(10, 0, 0, 100), Ipv4Addr::new(10, 0, 0, 102)),
            router: Some(SERVER),
            dns: vec![SERVER],
            domain: Some("lab.test".into()),
            lease: Duration::from_secs(600),
            reservations: BTreeMap::from([([2, 0, 0, 0, 0, 0x99], Ipv4Addr::new(10, 0, 0, 50))]),
            delay: Duration::ZERO,
            name: Some("server".into()),
        }
    }

    fn msg(mac: [u8; 6], kind: MessageType, opts: &[(u8, &[u8])]) -> Vec<u8> {
        let mut m = Message::new(1, 7, mac);
        m.push(code::MESSAGE_TYPE, [kind.as_u8()]);
        for (c, d) in opts {
            m.push(*c, d.to_vec());
        }
        m.encode()
    }

    #[test]
    fn dora_then_release_frees_the_address() {
        let mut s = Server::new(config());
        let offer = s.respond(&msg(MAC, MessageType::Discover, &[])).unwrap();
        let o = &offer.message;
        assert_eq!(o.message_type(), Some(MessageType::Offer));
        assert_eq!(o.yiaddr, Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(o.u32(code::LEASE_TIME), Some(600));
        assert_eq!(o.u32(code::RENEWAL_TIME), Some(300));
        assert_eq!(o.u32(code::REBINDING_TIME), Some(525));
        assert_eq!(
            o.addr(code::SUBNET_MASK),
            Some(Ipv4Addr::new(255, 255, 255, 0))
        );
        assert_eq!(
            o.addr(code::BROADCAST_ADDRESS),
            Some(Ipv4Addr::new(10, 0, 0, 255))
        );
        assert_eq!(o.sname, b"server");
        assert_eq!(
            offer.dest,
            Dest::Hardware {
                ip: o.yiaddr,
                mac: MAC
            }
        );
        let ack = s
            .respond(&msg(
                MAC,
                MessageType::Request,
                &[
                    (code::SERVER_ID, &[10, 0, 0, 1]),
                    (code::REQUESTED_IP, &[10, 0, 0, 100]),
                ],
            ))
            .unwrap();
        assert_eq!(ack.message.message_type(), Some(MessageType::Ack));
        let mut release = dhcp::parse(&msg(MAC, MessageType::Release, &[])).unwrap();
        release.ciaddr = Ipv4Addr::new(10, 0, 0, 100);
        assert_eq!(s.respond(&release.encode()), None);
        assert_eq!(s.lease_of(MAC), None);
    }

    #[test]
    fn reservation_broadcast_flag_and_relay() {
        let mut s = Server::new(config());
        let mut d = dhcp::parse(&msg([2, 0, 0, 0, 0, 0x99], MessageType::Discover, &[])).unwrap();
        d.flags = BROADCAST;
        let r = s.respond(&d.encode()).unwrap();
        assert_eq!(r.message.yiaddr, Ipv4Addr::new(10, 0, 0, 50));
        assert_eq!(r.dest, Dest::Broadcast);
        d.giaddr = Ipv4Addr::new(10, 0, 9, 1);
        assert_eq!(s.respond(&d.encode()).unwrap().dest, Dest::Relay(d.giaddr));
    }

    #[test]
    fn request_for_a_rival_withdraws_the_offer_and_wrong_address_is_naked() {
        let mut s = Server::new(config());
        s.respond(&msg(MAC, MessageType::Discover, &[])).unwrap();
        let rival = msg(
            MAC,
            MessageType::Request,
            &[(code::SERVER_ID, &[10, 0, 0, 2])],
        );
        assert_eq!(s.respond(&rival), None);
        assert_eq!(s.lease_of(MAC), None);
        s.respond(&msg(MAC, MessageType::Discover, &[])).unwrap();
        let wrong = msg(
            MAC,
            MessageType::Request,
            &[
                (code::SERVER_ID, &[10, 0, 0, 1]),
                (code::REQUESTED_IP, &[10, 0, 0, 101]),
            ],
        );
        let nak = s.respond(&wrong).unwrap();
        assert_eq!(nak.message.message_type(), Some(MessageType::Nak));
        assert_eq!(nak.dest, Dest::Broadcast);
    }

    #[test]
    fn declined_address_is_not_offered_again_and_pool_runs_out() {
        let mut s = Server::new(config());
        s.respond(&msg(MAC, MessageType::Discover, &[])).unwrap();
        let decline = msg(
            MAC,
            MessageType::Decline,
            &[
                (code::SERVER_ID, &[10, 0, 0, 1]),
                (code::REQUESTED_IP, &[10, 0, 0, 100]),
            ],
        );
        assert_eq!(s.respond(&decline), None);
        let again = s.respond(&msg(MAC, MessageType::Discover, &[])).unwrap();
        assert_eq!(again.message.yiaddr, Ipv4Addr::new(10, 0, 0, 101));
        s.respond(&msg([2, 0, 0, 0, 0, 1], MessageType::Discover, &[]))
            .unwrap();
        assert_eq!(
            s.respond(&msg([2, 0, 0, 0, 0, 2], MessageType::Discover, &[])),
            None
        );
    }

    #[test]
    fn inform_and_renewal_go_to_the_client_address() {
        let mut s = Server::new(config());
        let mut inform = dhcp::parse(&msg(MAC, MessageType::Inform, &[])).unwrap();
        inform.ciaddr = Ipv4Addr::new(10, 0, 0, 7);
        let ack = s.respond(&inform.encode()).unwrap();
        assert_eq!(ack.dest, Dest::Client(inform.ciaddr));
        assert_eq!(ack.message.u32(code::LEASE_TIME), None);
        assert_eq!(ack.message.yiaddr, Ipv4Addr::UNSPECIFIED);
        // A renewal from a client this server never saw: silence.
        let mut renew = dhcp::parse(&msg(MAC, MessageType::Request, &[])).unwrap();
        renew.ciaddr = Ipv4Addr::new(10, 0, 0, 100);
        assert_eq!(s.respond(&renew.encode()), None);
    }

    #[test]
    fn garbage_gets_nothing() {
        let mut s = Server::new(config());
        assert_eq!(s.respond(b""), None);
        let good = msg(MAC, MessageType::Discover, &[]);
        for n in 0..good.len() {
            let _ = s.respond(&good[..n]);
        }
    }
}
