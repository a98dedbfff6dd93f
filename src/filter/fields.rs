//! The names a display filter may use: protocols and fields, each field with its type.
//!
//! Contract: [`field`] and [`proto`] look a name up exactly as Wireshark 4.0 spells it;
//! [`suggest`] finds the closest known name for a "did you mean". Each [`Field`] has one
//! [`Type`], which decides which literals it may be compared with. What each field's values
//! are for a frame is in `eval`.

/// A protocol usable as a bare test (`tcp`, `!arp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Frame,
    Eth,
    Arp,
    Ip,
    Ipv6,
    Icmp,
    Icmpv6,
    Tcp,
    Udp,
    Dns,
    Ftp,
    FtpData,
    Http,
    Smtp,
    Dhcp,
}

const PROTOS: [(&str, Proto); 15] = [
    ("frame", Proto::Frame),
    ("eth", Proto::Eth),
    ("arp", Proto::Arp),
    ("ip", Proto::Ip),
    ("ipv6", Proto::Ipv6),
    ("icmp", Proto::Icmp),
    ("icmpv6", Proto::Icmpv6),
    ("tcp", Proto::Tcp),
    ("udp", Proto::Udp),
    ("dns", Proto::Dns),
    ("ftp", Proto::Ftp),
    ("ftp-data", Proto::FtpData),
    ("http", Proto::Http),
    ("smtp", Proto::Smtp),
    ("dhcp", Proto::Dhcp),
];

/// The type of a field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    /// Unsigned integer.
    Uint,
    /// Boolean (a flag bit): compared with 0/1 or True/False.
    Bool,
    /// Seconds, fractional.
    Time,
    /// IPv4 or IPv6 address.
    Addr,
    /// Ethernet address.
    Mac,
    /// Text.
    Str,
    /// Present or not, no value (`tcp.analysis.retransmission`).
    Flag,
    /// Bytes (`tcp.payload`): compared with a quoted string or hex bytes (`68:65:6c`).
    Bytes,
}

macro_rules! fields {
    ($($variant:ident = $name:literal : $ty:ident,)*) => {
        /// A field a filter can name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Field { $($variant,)* }

        const FIELDS: &[(&str, Field, Type)] = &[$(($name, Field::$variant, Type::$ty),)*];
    };
}

fields! {
    FrameNumber = "frame.number": Uint,
    FrameLen = "frame.len": Uint,
    FrameTimeRelative = "frame.time_relative": Time,
    FrameTimeDelta = "frame.time_delta": Time,
    EthSrc = "eth.src": Mac,
    EthDst = "eth.dst": Mac,
    EthAddr = "eth.addr": Mac,
    EthType = "eth.type": Uint,
    ArpOpcode = "arp.opcode": Uint,
    ArpSrcIp = "arp.src.proto_ipv4": Addr,
    ArpDstIp = "arp.dst.proto_ipv4": Addr,
    ArpSrcMac = "arp.src.hw_mac": Mac,
    ArpDstMac = "arp.dst.hw_mac": Mac,
    ArpIsGratuitous = "arp.isgratuitous": Bool,
    ArpIsProbe = "arp.isprobe": Bool,
    ArpIsAnnouncement = "arp.isannouncement": Bool,
    IpSrc = "ip.src": Addr,
    IpDst = "ip.dst": Addr,
    IpAddr = "ip.addr": Addr,
    IpTtl = "ip.ttl": Uint,
    IpId = "ip.id": Uint,
    IpProto = "ip.proto": Uint,
    IpLen = "ip.len": Uint,
    IpVersion = "ip.version": Uint,
    IpDf = "ip.flags.df": Bool,
    IpMf = "ip.flags.mf": Bool,
    IpFragOffset = "ip.frag_offset": Uint,
    IpDscp = "ip.dsfield.dscp": Uint,
    Ip6Src = "ipv6.src": Addr,
    Ip6Dst = "ipv6.dst": Addr,
    Ip6Addr = "ipv6.addr": Addr,
    Ip6Hlim = "ipv6.hlim": Uint,
    Ip6Flow = "ipv6.flow": Uint,
    Ip6Nxt = "ipv6.nxt": Uint,
    IcmpType = "icmp.type": Uint,
    IcmpCode = "icmp.code": Uint,
    Icmp6Type = "icmpv6.type": Uint,
    Icmp6Code = "icmpv6.code": Uint,
    TcpSrcPort = "tcp.srcport": Uint,
    TcpDstPort = "tcp.dstport": Uint,
    TcpPort = "tcp.port": Uint,
    TcpSyn = "tcp.flags.syn": Bool,
    TcpAck = "tcp.flags.ack": Bool,
    TcpFin = "tcp.flags.fin": Bool,
    TcpReset = "tcp.flags.reset": Bool,
    TcpPush = "tcp.flags.push": Bool,
    TcpUrg = "tcp.flags.urg": Bool,
    TcpSeq = "tcp.seq": Uint,
    TcpAckNum = "tcp.ack": Uint,
    TcpLen = "tcp.len": Uint,
    TcpStream = "tcp.stream": Uint,
    TcpPayload = "tcp.payload": Bytes,
    TcpWindowSize = "tcp.window_size": Uint,
    TcpRetransmission = "tcp.analysis.retransmission": Flag,
    UdpSrcPort = "udp.srcport": Uint,
    UdpDstPort = "udp.dstport": Uint,
    UdpPort = "udp.port": Uint,
    UdpLength = "udp.length": Uint,
    UdpStream = "udp.stream": Uint,
    UdpPayload = "udp.payload": Bytes,
    DnsId = "dns.id": Uint,
    DnsQryName = "dns.qry.name": Str,
    DnsQryType = "dns.qry.type": Uint,
    DnsResponse = "dns.flags.response": Bool,
    DnsRcode = "dns.flags.rcode": Uint,
    DnsA = "dns.a": Addr,
    DnsRespName = "dns.resp.name": Str,
    FtpCommand = "ftp.request.command": Str,
    FtpArg = "ftp.request.arg": Str,
    FtpCode = "ftp.response.code": Uint,
    HttpRequest = "http.request": Bool,
    HttpResponse = "http.response": Bool,
    HttpMethod = "http.request.method": Str,
    HttpUri = "http.request.uri": Str,
    HttpHost = "http.host": Str,
    HttpCode = "http.response.code": Uint,
    HttpUserAgent = "http.user_agent": Str,
    SmtpCommand = "smtp.req.command": Str,
    SmtpCode = "smtp.response.code": Uint,
    DhcpType = "dhcp.option.dhcp": Uint,
    DhcpId = "dhcp.id": Uint,
    DhcpBroadcast = "dhcp.flags.bc": Bool,
    DhcpClientIp = "dhcp.ip.client": Addr,
    DhcpYourIp = "dhcp.ip.your": Addr,
    DhcpRelayIp = "dhcp.ip.relay": Addr,
    DhcpMac = "dhcp.hw.mac_addr": Mac,
    DhcpRequestedIp = "dhcp.option.requested_ip_address": Addr,
    DhcpServerId = "dhcp.option.dhcp_server_id": Addr,
    DhcpRouter = "dhcp.option.router": Addr,
    DhcpLease = "dhcp.option.ip_address_lease_time": Uint,
    DhcpHostName = "dhcp.option.hostname": Str,
    DhcpRequestItem = "dhcp.option.request_list_item": Uint,
}

impl Field {
    /// The type of its values.
    pub(crate) fn ty(self) -> Type {
        FIELDS
            .iter()
            .find(|(_, f, _)| *f == self)
            .map_or(Type::Flag, |(_, _, t)| *t)
    }

    /// The name as written in a filter.
    pub(crate) fn name(self) -> &'static str {
        FIELDS
            .iter()
            .find(|(_, f, _)| *f == self)
            .map_or("", |(n, _, _)| n)
    }
}

/// The field called `name`.
pub(crate) fn field(name: &str) -> Option<Field> {
    FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, _)| *f)
}

impl Proto {
    /// The name as written in a filter.
    pub(crate) fn name(self) -> &'static str {
        PROTOS
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("", |(n, _)| n)
    }
}

/// The protocol called `name`.
pub(crate) fn proto(name: &str) -> Option<Proto> {
    PROTOS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// The known name closest to `name`, for a "did you mean".
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    let names: Vec<&'static str> = FIELDS
        .iter()
        .map(|(n, _, _)| *n)
        .chain(PROTOS.iter().map(|(n, _)| *n))
        .collect();
    crate::rules::suggest(name, &names)
}

/// DNS record type mnemonics Wireshark accepts for `dns.qry.type`, with their numbers.
pub(crate) const DNS_TYPES: [(&str, u64); 12] = [
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
    ("OPT", 41),
    ("HTTPS", 65),
    ("ANY", 255),
];

/// DNS response code names as `wire` spells them, with their numbers.
pub(crate) const DNS_RCODES: [(&str, u64); 9] = [
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_suggest() {
        for (name, f, ty) in FIELDS {
            assert_eq!(field(name), Some(*f));
            assert_eq!(f.name(), *name);
            assert_eq!(f.ty(), *ty);
        }
        assert_eq!(suggest("tcp.prot"), Some("tcp.port"));
        assert_eq!(suggest("ip.scr"), Some("ip.src"));
        assert_eq!(proto("ftp-data"), Some(Proto::FtpData));
    }
}
