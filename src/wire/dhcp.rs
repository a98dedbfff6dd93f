//! DHCP (RFC 2131) and its BOOTP frame (RFC 951) on the wire: one message read into an owned
//! [`Message`] and written back, with every option's name as Wireshark 4.0 shows it.
//!
//! Contract: [`parse`] takes any bytes and never panics. Every read is bounds-checked; a
//! message shorter than the fixed BOOTP header or without the magic cookie is an error, an
//! option that runs past the end keeps the options before it and sets
//! [`Message::malformed`]. Option overload (option 52) is honoured once: the `file` field, then
//! the `sname` field, are each read as one more option area at most once, and an overload
//! option inside them is ignored, so no packet can make the reader loop. [`Message::encode`]
//! writes a message the way servers do: options in the given order, an END, padded to the
//! 300 bytes BOOTP relays expect.
//!
//! The server (`services::dhcp`), the client step and the dissector use this one reading, so
//! what a lab's server understood and what `labctl show` displays cannot disagree.

use std::fmt;
use std::net::Ipv4Addr;

/// The fixed BOOTP header, up to the magic cookie.
pub const HEADER_LEN: usize = 236;
/// The magic cookie that starts the DHCP options (99.130.83.99).
pub const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// The smallest message BOOTP relays forward; shorter ones are padded.
const MIN_LEN: usize = 300;
/// The broadcast bit of the flags field.
pub const BROADCAST: u16 = 0x8000;

/// Option codes this crate reads or writes by name.
pub mod code {
    /// Subnet Mask.
    pub const SUBNET_MASK: u8 = 1;
    /// Router.
    pub const ROUTER: u8 = 3;
    /// Domain Name Server.
    pub const DNS: u8 = 6;
    /// Host Name.
    pub const HOST_NAME: u8 = 12;
    /// Domain Name.
    pub const DOMAIN_NAME: u8 = 15;
    /// Broadcast Address.
    pub const BROADCAST_ADDRESS: u8 = 28;
    /// Requested IP Address.
    pub const REQUESTED_IP: u8 = 50;
    /// IP Address Lease Time.
    pub const LEASE_TIME: u8 = 51;
    /// Option Overload.
    pub const OVERLOAD: u8 = 52;
    /// DHCP Message Type.
    pub const MESSAGE_TYPE: u8 = 53;
    /// DHCP Server Identifier.
    pub const SERVER_ID: u8 = 54;
    /// Parameter Request List.
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Message (text of a NAK).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP Message Size.
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal Time Value (T1).
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding Time Value (T2).
    pub const REBINDING_TIME: u8 = 59;
    /// Vendor class identifier.
    pub const VENDOR_CLASS: u8 = 60;
    /// Client identifier.
    pub const CLIENT_ID: u8 = 61;
    /// Relay Agent Information.
    pub const RELAY_AGENT: u8 = 82;
    /// Pad.
    pub const PAD: u8 = 0;
    /// End.
    pub const END: u8 = 255;
}

/// The DHCP message type (option 53).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum MessageType {
    /// 1: a client looks for servers.
    Discover,
    /// 2: a server offers an address.
    Offer,
    /// 3: a client asks for the offered (or its old) address.
    Request,
    /// 4: a client found the address in use.
    Decline,
    /// 5: a server confirms the lease.
    Ack,
    /// 6: a server refuses the request.
    Nak,
    /// 7: a client gives its address back.
    Release,
    /// 8: a client with an address asks only for parameters.
    Inform,
}

impl MessageType {
    /// The type with number `n`.
    pub fn from_u8(n: u8) -> Option<MessageType> {
        Some(match n {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }

    /// Its number.
    pub fn as_u8(self) -> u8 {
        self as u8 + 1
    }

    /// Its name as tshark's Info column writes it (`Discover`, `ACK`).
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Discover => "Discover",
            MessageType::Offer => "Offer",
            MessageType::Request => "Request",
            MessageType::Decline => "Decline",
            MessageType::Ack => "ACK",
            MessageType::Nak => "NAK",
            MessageType::Release => "Release",
            MessageType::Inform => "Inform",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One option: its code and its value bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct DhcpOption {
    /// Option code.
    pub code: u8,
    /// Value, without code and length.
    pub data: Vec<u8>,
}

/// One DHCP (or plain BOOTP) message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// 1 BOOTREQUEST (client to server), 2 BOOTREPLY.
    pub op: u8,
    /// Hardware type (1 Ethernet).
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id, chosen by the client.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// Flags: [`BROADCAST`] asks for broadcast replies.
    pub flags: u16,
    /// Client address, when it has one (renewing, INFORM).
    pub ciaddr: Ipv4Addr,
    /// "Your" address: what the server gives.
    pub yiaddr: Ipv4Addr,
    /// Next server (TFTP) address.
    pub siaddr: Ipv4Addr,
    /// Relay agent address: set by a relay, replies go back to it.
    pub giaddr: Ipv4Addr,
    /// Client hardware address field (16 bytes; `hlen` of them used).
    pub chaddr: [u8; 16],
    /// Server host name field, up to its first zero.
    pub sname: Vec<u8>,
    /// Boot file name field, up to its first zero.
    pub file: Vec<u8>,
    /// Options in the order read (main area, then `file`, then `sname` when overloaded);
    /// PAD and END are not kept.
    pub options: Vec<DhcpOption>,
    /// Why reading stopped early, if it did.
    pub malformed: Option<String>,
}

/// Why bytes are no DHCP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhcpError {
    /// Shorter than the fixed header and cookie.
    #[error("bootp message of {0} bytes is shorter than its 240-byte header")]
    Short(usize),
    /// No magic cookie: BOOTP without DHCP options.
    #[error("no dhcp magic cookie")]
    NoCookie,
}

impl Message {
    /// A blank message of kind `op` with transaction id `xid` from Ethernet address `mac`.
    pub fn new(op: u8, xid: u32, mac: [u8; 6]) -> Message {
        let mut chaddr = [0; 16];
        chaddr[..6].copy_from_slice(&mac);
        Message {
            op,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            sname: Vec::new(),
            file: Vec::new(),
            options: Vec::new(),
            malformed: None,
        }
    }

    /// The message type, when option 53 is present and known.
    pub fn message_type(&self) -> Option<MessageType> {
        self.option(code::MESSAGE_TYPE)
            .and_then(|d| d.first())
            .and_then(|&n| MessageType::from_u8(n))
    }

    /// The first option with `code`.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.data.as_slice())
    }

    /// An option holding one IPv4 address.
    pub fn addr(&self, code: u8) -> Option<Ipv4Addr> {
        let d = self.option(code)?;
        let b: [u8; 4] = d.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// An option holding a list of IPv4 addresses.
    pub fn addrs(&self, code: u8) -> Vec<Ipv4Addr> {
        self.option(code)
            .map(|d| {
                d.chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An option holding a 32-bit number (lease time, T1, T2).
    pub fn u32(&self, code: u8) -> Option<u32> {
        let d = self.option(code)?;
        Some(u32::from_be_bytes(d.get(..4)?.try_into().ok()?))
    }

    /// The Parameter Request List: the option codes the client asks for.
    pub fn requested(&self) -> &[u8] {
        self.option(code::PARAMETER_REQUEST_LIST).unwrap_or(&[])
    }

    /// Whether the client asked for broadcast replies.
    pub fn broadcast(&self) -> bool {
        self.flags & BROADCAST != 0
    }

    /// The client's Ethernet address (the first six bytes of `chaddr`).
    pub fn mac(&self) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&self.chaddr[..6]);
        m
    }

    /// tshark's Info column for the message: `DHCP Discover - Transaction ID 0x3903f326`.
    pub fn summary(&self) -> String {
        match self.message_type() {
            Some(t) => format!("DHCP {t} - Transaction ID {:#010x}", self.xid),
            None if self.op == 2 => format!("Boot Reply - Transaction ID {:#010x}", self.xid),
            None => format!("Boot Request - Transaction ID {:#010x}", self.xid),
        }
    }

    /// Appends an option.
    pub fn push(&mut self, code: u8, data: impl Into<Vec<u8>>) {
        self.options.push(DhcpOption {
            code,
            data: data.into(),
        });
    }

    /// The message in wire form. Options longer than 255 bytes are cut to 255.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MIN_LEN);
        b.extend_from_slice(&[self.op, self.htype, self.hlen, self.hops]);
        b.extend_from_slice(&self.xid.to_be_bytes());
        b.extend_from_slice(&self.secs.to_be_bytes());
        b.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            b.extend_from_slice(&a.octets());
        }
        b.extend_from_slice(&self.chaddr);
        let field = |b: &mut Vec<u8>, v: &[u8], n: usize| {
            let v = &v[..v.len().min(n - 1)];
            b.extend_from_slice(v);
            b.resize(b.len() + n - v.len(), 0);
        };
        field(&mut b, &self.sname, 64);
        field(&mut b, &self.file, 128);
        b.extend_from_slice(&COOKIE);
        for o in &self.options {
            let data = &o.data[..o.data.len().min(255)];
            b.push(o.code);
            b.push(data.len() as u8);
            b.extend_from_slice(data);
        }
        b.push(code::END);
        if b.len() < MIN_LEN {
            b.resize(MIN_LEN, 0);
        }
        b
    }
}

/// Reads one message. See the module documentation.
pub fn parse(bytes: &[u8]) -> Result<Message, DhcpError> {
    let Some(head) = bytes.get(..HEADER_LEN) else {
        return Err(DhcpError::Short(bytes.len()));
    };
    if bytes.get(HEADER_LEN..HEADER_LEN + 4) != Some(&COOKIE[..]) {
        return Err(if bytes.len() < HEADER_LEN + 4 {
            DhcpError::Short(bytes.len())
        } else {
            DhcpError::NoCookie
        });
    }
    let u16_at = |i: usize| u16::from_be_bytes([head[i], head[i + 1]]);
    let addr_at = |i: usize| Ipv4Addr::new(head[i], head[i + 1], head[i + 2], head[i + 3]);
    let mut chaddr = [0; 16];
    chaddr.copy_from_slice(&head[28..44]);
    let sname_area = &head[44..108];
    let file_area = &head[108..236];
    let mut msg = Message {
        op: head[0],
        htype: head[1],
        hlen: head[2],
        hops: head[3],
        xid: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
        secs: u16_at(8),
        flags: u16_at(10),
        ciaddr: addr_at(12),
        yiaddr: addr_at(16),
        siaddr: addr_at(20),
        giaddr: addr_at(24),
        chaddr,
        sname: Vec::new(),
        file: Vec::new(),
        options: Vec::new(),
        malformed: None,
    };
    let mut err = read_options(&bytes[HEADER_LEN + 4..], &mut msg.options, true).err();
    // The first overload option of the main area decides which fields hold options; an
    // overload option inside those fields is ignored (RFC 2131 4.1 allows it only in the
    // main area), so each field is read at most once.
    let overload = msg.option(code::OVERLOAD).and_then(|d| d.first().copied());
    let (file_opts, sname_opts) = match overload {
        Some(1) => (true, false),
        Some(2) => (false, true),
        Some(3) => (true, true),
        _ => (false, false),
    };
    for (is_opts, area, text) in [
        (file_opts, file_area, &mut msg.file),
        (sname_opts, sname_area, &mut msg.sname),
    ] {
        if is_opts {
            if let Err(e) = read_options(area, &mut msg.options, false) {
                err = err.or(Some(e));
            }
        } else {
            let end = area.iter().position(|&b| b == 0).unwrap_or(area.len());
            *text = area[..end].to_vec();
        }
    }
    msg.malformed = err;
    Ok(msg)
}

/// Reads one option area into `out`, stopping at END or at the end of the area. An option
/// that runs past the area ends the reading with the reason. In an overloaded field
/// (`main` false) an overload option is dropped.
fn read_options(area: &[u8], out: &mut Vec<DhcpOption>, main: bool) -> Result<(), String> {
    let mut i = 0;
    while let Some(&c) = area.get(i) {
        match c {
            code::PAD => i += 1,
            code::END => return Ok(()),
            _ => {
                let Some(&len) = area.get(i + 1) else {
                    return Err(format!("option {c} has no length byte"));
                };
                let start = i + 2;
                let end = start + usize::from(len);
                let Some(data) = area.get(start..end) else {
                    return Err(format!(
                        "option {c} ({}) claims {len} bytes, {} left",
                        option_name(c),
                        area.len().saturating_sub(start)
                    ));
                };
                if main || c != code::OVERLOAD {
                    out.push(DhcpOption {
                        code: c,
                        data: data.to_vec(),
                    });
                }
                i = end;
            }
        }
    }
    // An option area without END: tolerated, as every DHCP stack does.
    Ok(())
}

/// An option's name as Wireshark 4.0 shows it.
pub fn option_name(code: u8) -> &'static str {
    match code {
        0 => "Padding",
        1 => "Subnet Mask",
        2 => "Time Offset",
        3 => "Router",
        4 => "Time Server",
        5 => "Name Server",
        6 => "Domain Name Server",
        7 => "Log Server",
        12 => "Host Name",
        13 => "Boot File Size",
        15 => "Domain Name",
        17 => "Root Path",
        23 => "Default IP Time-to-Live",
        26 => "Interface MTU",
        28 => "Broadcast Address",
        31 => "Perform Router Discover",
        33 => "Static Route",
        40 => "Network Information Service Domain",
        41 => "Network Information Service Servers",
        42 => "Network Time Protocol Servers",
        43 => "Vendor-Specific Information",
        44 => "NetBIOS over TCP/IP Name Server",
        46 => "NetBIOS over TCP/IP Node Type",
        47 => "NetBIOS over TCP/IP Scope",
        50 => "Requested IP Address",
        51 => "IP Address Lease Time",
        52 => "Option Overload",
        53 => "DHCP Message Type",
        54 => "DHCP Server Identifier",
        55 => "Parameter Request List",
        56 => "Message",
        57 => "Maximum DHCP Message Size",
        58 => "Renewal Time Value",
        59 => "Rebinding Time Value",
        60 => "Vendor class identifier",
        61 => "Client identifier",
        66 => "TFTP Server Name",
        67 => "Bootfile name",
        80 => "Rapid Commit",
        81 => "Client Fully Qualified Domain Name",
        82 => "Agent Information Option",
        116 => "DHCP Auto-Configuration",
        118 => "Subnet Selection Option",
        119 => "Domain Search",
        121 => "Classless Static Route",
        145 => "Forcerenew Nonce Capable",
        249 => "Private/Classless Static Route (Microsoft)",
        252 => "Private/Proxy autodiscovery",
        255 => "End",
        _ => "Unknown",
    }
}

/// An option's value in words: addresses dotted, times in seconds, names as text (escaped),
/// the request list as codes, anything else as hex.
pub fn option_value(o: &DhcpOption) -> String {
    let addrs = || {
        o.data
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let text = || {
        o.data
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| {
                if (0x20..0x7f).contains(&b) && b != b'\\' {
                    char::from(b).to_string()
                } else {
                    format!("\\x{b:02x}")
                }
            })
            .collect::<String>()
    };
    let hex = || {
        o.data
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    match o.code {
        1 | 3..=7 | 28 | 41 | 42 | 44 | 50 | 54 | 118 if o.data.len() % 4 == 0 => addrs(),
        12 | 15 | 17 | 40 | 56 | 60 | 66 | 67 => text(),
        51 | 58 | 59 if o.data.len() == 4 => {
            let n = u32::from_be_bytes([o.data[0], o.data[1], o.data[2], o.data[3]]);
            format!("{n}s")
        }
        53 if o.data.len() == 1 => {
            MessageType::from_u8(o.data[0]).map_or_else(|| o.data[0].to_string(), |t| t.to_string())
        }
        52 | 57 | 26 if !o.data.is_empty() && o.data.len() <= 2 => {
            let n = o.data.iter().fold(0u32, |a, &b| a << 8 | u32::from(b));
            n.to_string()
        }
        55 => o
            .data
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(","),
        _ => hex(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discover() -> Message {
        let mut m = Message::new(1, 0x3903_f326, [2, 0, 0, 0, 0, 9]);
        m.flags = BROADCAST;
        m.push(code::MESSAGE_TYPE, [1]);
        m.push(code::PARAMETER_REQUEST_LIST, [1, 3, 6, 15, 51, 58, 59]);
        m.push(code::HOST_NAME, b"client".to_vec());
        m
    }

    #[test]
    fn round_trip() {
        let m = discover();
        let bytes = m.encode();
        assert_eq!(bytes.len(), 300);
        let back = parse(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.message_type(), Some(MessageType::Discover));
        assert_eq!(back.requested(), &[1, 3, 6, 15, 51, 58, 59]);
        assert!(back.broadcast());
        assert_eq!(back.mac(), [2, 0, 0, 0, 0, 9]);
    }

    #[test]
    fn overload_reads_file_and_sname_once() {
        let mut bytes = discover().encode();
        // Overload = 3 in the main area (before END), an option in each field, and an
        // overload option inside `file` that must not start another pass.
        let end = bytes[240..].iter().position(|&b| b == 255).unwrap() + 240;
        bytes.splice(end..end, [52, 1, 3]);
        bytes[108..117].copy_from_slice(&[52, 1, 3, 50, 4, 10, 0, 0, 7]);
        bytes[44..51].copy_from_slice(&[12, 3, b'a', b'b', b'c', 255, 0]);
        let m = parse(&bytes).unwrap();
        assert_eq!(m.malformed, None);
        assert_eq!(m.addr(code::REQUESTED_IP), Some(Ipv4Addr::new(10, 0, 0, 7)));
        let names: Vec<u8> = m.options.iter().map(|o| o.code).collect();
        assert_eq!(names, vec![53, 55, 12, 52, 50, 12]);
        assert!(m.file.is_empty() && m.sname.is_empty());
    }

    #[test]
    fn truncated_option_keeps_the_ones_before() {
        let bytes = discover().encode();
        let cut = &bytes[..240 + 3 + 2 + 3];
        let m = parse(cut).unwrap();
        assert_eq!(m.message_type(), Some(MessageType::Discover));
        assert!(
            m.malformed
                .as_deref()
                .unwrap()
                .contains("Parameter Request List")
        );
        assert_eq!(parse(&bytes[..100]), Err(DhcpError::Short(100)));
        let mut no_cookie = bytes.clone();
        no_cookie[236] = 0;
        assert_eq!(parse(&no_cookie), Err(DhcpError::NoCookie));
    }

    #[test]
    fn no_prefix_or_byte_panics() {
        let bytes = discover().encode();
        for n in 0..bytes.len() {
            let _ = parse(&bytes[..n]);
        }
        let mut m = bytes.clone();
        for i in 0..m.len() {
            for v in [0, 1, 52, 255] {
                let old = m[i];
                m[i] = v;
                if let Ok(msg) = parse(&m) {
                    msg.options.iter().for_each(|o| drop(option_value(o)));
                }
                m[i] = old;
            }
        }
    }

    #[test]
    fn values_in_words() {
        let o = |code, data: &[u8]| {
            option_value(&DhcpOption {
                code,
                data: data.to_vec(),
            })
        };
        assert_eq!(o(1, &[255, 255, 255, 0]), "255.255.255.0");
        assert_eq!(o(51, &[0, 0, 2, 88]), "600s");
        assert_eq!(o(53, &[5]), "ACK");
        assert_eq!(o(12, b"a\x1bb"), "a\\x1bb");
        assert_eq!(o(55, &[1, 3]), "1,3");
    }
}
