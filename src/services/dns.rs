//! DNS server: authoritative answers from zones in RFC 1035 master-file format, over UDP and TCP.
//!
//! Messages are parsed and built with hickory-proto, the DNS library the Rust field uses; zone
//! files are read with its master-file parser (`$ORIGIN`, `$TTL`, `@`, relative names,
//! parentheses). What is answered and how is this module's own, small and tested with bytes:
//!
//! Contract:
//! - [`respond`] maps one query message to one response message, with no I/O: `NOERROR` with the
//!   records (following CNAMEs inside the zone, adding the A/AAAA of MX and NS targets to the
//!   additional section), `NOERROR` with the SOA in the authority section when the name exists
//!   without that type, `NXDOMAIN` with the SOA when the name does not exist, `REFUSED` for a
//!   name outside every zone, `FORMERR` for a malformed query whose header can still be read,
//!   `NOTIMP` for an opcode other than QUERY. Every answer is authoritative (AA set, RA clear).
//! - EDNS(0): a query with an OPT record gets one back (payload 1232); an EDNS version other
//!   than 0 gets `BADVERS`. A UDP response larger than the client's payload size (512 without
//!   EDNS) is sent truncated with TC set, so the client retries over TCP.
//! - [`serve_udp`] and [`serve_tcp`] take already-bound sockets. Garbage that has no readable
//!   header is dropped (UDP) or ends the connection (TCP); the server keeps serving.
//!
//! Invariants: nothing global; zones are immutable once loaded; no input panics.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use hickory_proto::op::{Edns, Header, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable;
use hickory_proto::serialize::txt::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::conn::{accept_loop, next_datagram};
use super::serve::ServeError;

/// The UDP payload size this server announces and uses at most (the DNS Flag Day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

/// How long a TCP connection may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(30);

/// Errors at the DNS server's boundary.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("dns zone {origin}: {message}")]
    Zone { origin: String, message: String },
    #[error("dns zone file {path}")]
    ZoneFile { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// One zone: its origin, its SOA and every record, indexed by owner name.
#[derive(Debug, Clone)]
pub struct Zone {
    origin: LowerName,
    soa: Record,
    names: BTreeMap<LowerName, Vec<Record>>,
}

impl Zone {
    /// Parses a zone in master-file format. `origin` is the zone's name when the text has no
    /// `$ORIGIN` line. `$INCLUDE` is refused: a zone's content comes from the scenario alone.
    pub fn parse(text: &str, origin: Option<&str>) -> Result<Self, DnsError> {
        let label = origin.unwrap_or("(no origin)").to_string();
        let fail = |message: String| DnsError::Zone {
            origin: label.clone(),
            message,
        };
        if text
            .lines()
            .any(|l| l.trim_start().to_ascii_uppercase().starts_with("$INCLUDE"))
        {
            return Err(fail("$INCLUDE is not supported".to_string()));
        }
        let origin = origin
            .map(|o| Name::from_ascii(o).map_err(|e| fail(format!("bad origin: {e}"))))
            .transpose()?;
        let (origin, sets) = Parser::new(text, None, origin)
            .parse()
            .map_err(|e| fail(e.to_string()))?;
        let mut names: BTreeMap<LowerName, Vec<Record>> = BTreeMap::new();
        let mut soa = None;
        for (key, set) in sets {
            for record in set.records_without_rrsigs() {
                if !origin.zone_of(&record.name) {
                    return Err(fail(format!("{} is outside the zone", record.name)));
                }
                if record.record_type() == RecordType::SOA {
                    soa = Some(record.clone());
                }
                names
                    .entry(key.name.clone())
                    .or_default()
                    .push(record.clone());
            }
        }
        let soa = soa.ok_or_else(|| fail("the zone has no SOA record".to_string()))?;
        if soa.name != origin {
            return Err(fail("the SOA record is not at the zone origin".to_string()));
        }
        Ok(Self {
            origin: LowerName::new(&origin),
            soa,
            names,
        })
    }

    /// Reads and parses a zone file.
    pub fn from_file(path: &Path, origin: Option<&str>) -> Result<Self, DnsError> {
        let text = std::fs::read_to_string(path).map_err(|source| DnsError::ZoneFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, origin)
    }

    pub fn origin(&self) -> &LowerName {
        &self.origin
    }

    /// Every record of the zone, in name order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.names.values().flatten()
    }

    fn at(&self, name: &LowerName) -> Option<&[Record]> {
        self.names.get(name).map(Vec::as_slice)
    }

    /// Whether a name exists: it owns records, or it is an empty non-terminal above one that
    /// does (RFC 8020: NXDOMAIN means nothing exists below either).
    fn exists(&self, name: &LowerName) -> bool {
        self.names.contains_key(name) || self.names.keys().any(|n| name.zone_of(n))
    }
}

/// What a DNS server answers from.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// A forward zone and, for PTR answers, reverse zones (`2.0.192.in-addr.arpa.`).
    pub zones: Vec<Zone>,
}

/// How the query arrived, which decides whether the response may need truncating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// The response to one query message, or `None` when the bytes have no readable header or are
/// themselves a response (answering those could start a loop between two servers).
pub fn respond(zones: &[Zone], query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let request = match Message::from_vec(query) {
        Ok(request) => request,
        Err(_) => {
            let header = Header::from_bytes(query.get(..12)?).ok()?;
            if header.metadata.message_type == MessageType::Response {
                return None;
            }
            let metadata = Metadata::response_from_request(&header.metadata);
            return error_response(metadata, ResponseCode::FormErr, None)
                .to_vec()
                .ok();
        }
    };
    if request.metadata.message_type == MessageType::Response {
        return None;
    }
    let response = answer(zones, &request);
    let bytes = response.to_vec().ok()?;
    let limit = match (transport, &request.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(edns)) => usize::from(edns.max_payload().clamp(512, EDNS_PAYLOAD)),
    };
    if bytes.len() <= limit {
        return Some(bytes);
    }
    let mut truncated = response.truncate();
    truncated.metadata.truncation = true;
    truncated.to_vec().ok()
}

fn server_edns() -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    edns.set_version(0);
    edns
}

fn error_response(metadata: Metadata, code: ResponseCode, edns: Option<Edns>) -> Message {
    let mut message = Message::response(metadata.id, metadata.op_code);
    message.metadata = metadata;
    message.metadata.response_code = code;
    message.edns = edns;
    message
}

/// Builds the response message for a parsed query.
fn answer(zones: &[Zone], request: &Message) -> Message {
    let metadata = Metadata::response_from_request(&request.metadata);
    let edns = request.edns.as_ref().map(|_| server_edns());
    let mut response = error_response(metadata, ResponseCode::NoError, edns);
    response.add_queries(request.queries.iter().cloned());
    if let Some(edns) = &request.edns
        && edns.version() != 0
    {
        response.metadata.response_code = ResponseCode::BADVERS;
        return response;
    }
    if request.metadata.op_code != OpCode::Query {
        response.metadata.response_code = ResponseCode::NotImp;
        return response;
    }
    let [query] = request.queries.as_slice() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response;
    };
    let qname = LowerName::new(&query.name);
    let zone = zones
        .iter()
        .filter(|z| z.origin.zone_of(&qname))
        .max_by_key(|z| z.origin.num_labels());
    let zone = match zone {
        Some(zone) if matches!(query.query_class, DNSClass::IN | DNSClass::ANY) => zone,
        _ => {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        }
    };
    response.metadata.authoritative = true;
    let qtype = query.query_type;
    let mut name = qname;
    // Follow CNAMEs inside the zone; the bound stops a CNAME loop in a bad zone.
    for _ in 0..16 {
        let Some(records) = zone.at(&name) else {
            if !zone.exists(&name) {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            response.add_authority(zone.soa.clone());
            return response;
        };
        let matching: Vec<Record> = records
            .iter()
            .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
            .cloned()
            .collect();
        if !matching.is_empty() {
            add_additionals(zone, &matching, &mut response);
            response.add_answers(matching);
            return response;
        }
        let cname = records.iter().find_map(|r| match &r.data {
            RData::CNAME(target) => Some((r.clone(), target.0.clone())),
            _ => None,
        });
        match cname {
            Some((record, target)) => {
                response.add_answer(record);
                let target = LowerName::new(&target);
                if !zone.origin.zone_of(&target) {
                    return response;
                }
                name = target;
            }
            None => {
                response.add_authority(zone.soa.clone());
                return response;
            }
        }
    }
    response.metadata.response_code = ResponseCode::ServFail;
    response
}

/// Adds the addresses of MX exchanges and NS hosts that the zone knows.
fn add_additionals(zone: &Zone, answers: &[Record], response: &mut Message) {
    for record in answers {
        let target = match &record.data {
            RData::MX(mx) => &mx.exchange,
            RData::NS(ns) => &ns.0,
            _ => continue,
        };
        if let Some(records) = zone.at(&LowerName::new(target)) {
            let addresses = records
                .iter()
                .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
                .filter(|r| !response.additionals.contains(r))
                .cloned()
                .collect::<Vec<_>>();
            response.add_additionals(addresses);
        }
    }
}

/// Answers queries on a UDP socket until `shutdown` completes.
pub async fn serve_udp(socket: UdpSocket, config: DnsConfig, shutdown: impl Future<Output = ()>) {
    let zones = config.zones;
    let mut buf = vec![0u8; 65_535];
    tokio::pin!(shutdown);
    while let Some((n, peer)) = next_datagram(&socket, &mut buf, shutdown.as_mut()).await {
        if let Some(reply) = respond(&zones, &buf[..n], Transport::Udp) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// Answers queries on TCP connections (RFC 7766 two-byte length framing, several queries per
/// connection) until `shutdown` completes.
pub async fn serve_tcp(
    listener: TcpListener,
    config: DnsConfig,
    shutdown: impl Future<Output = ()>,
) {
    let zones = Arc::new(config.zones);
    accept_loop(listener, shutdown, move |stream, _peer| {
        let zones = zones.clone();
        async move {
            // A failed connection concerns only its own client.
            let _ = handle_tcp(stream, &zones).await;
        }
    })
    .await;
}

async fn handle_tcp(mut stream: TcpStream, zones: &[Zone]) -> io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            // End of stream, reset or idle: close quietly.
            _ => return stream.shutdown().await,
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut message))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        let Some(reply) = respond(zones, &message, Transport::Tcp) else {
            return stream.shutdown().await;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        framed.extend_from_slice(&reply);
        stream.write_all(&framed).await?;
    }
}

/// Serves the same zones on a UDP socket and a TCP listener until `shutdown` completes.
pub async fn serve(
    udp: UdpSocket,
    tcp: TcpListener,
    config: DnsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let shutdown = shutdown.boxed().shared();
    tokio::join!(
        serve_udp(udp, config.clone(), shutdown.clone()),
        serve_tcp(tcp, config, shutdown),
    );
}

/// `labctl serve dns --listen ADDR:PORT --zone FILE [--origin NAME]` (UDP and TCP on the same
/// port).
#[derive(Debug, Clone, clap::Args)]
pub struct DnsCliArgs {
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// A zone file (repeatable)
    #[arg(long = "zone", required = true)]
    pub zones: Vec<PathBuf>,
    /// Origin for zone files without $ORIGIN
    #[arg(long)]
    pub origin: Option<String>,
}

/// Loads the zones, binds `args.listen` (UDP and TCP) in the current namespace and serves until
/// `shutdown` completes.
pub async fn serve_cli(
    args: DnsCliArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DnsError> {
    let zones = args
        .zones
        .iter()
        .map(|path| Zone::from_file(path, args.origin.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let bind_err = ServeError::bind("dns", args.listen);
    let udp = UdpSocket::bind(args.listen).await.map_err(bind_err)?;
    let tcp = TcpListener::bind(args.listen).await.map_err(bind_err)?;
    serve(udp, tcp, DnsConfig { zones }, shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use std::str::FromStr;

    pub(crate) const LAB_ZONE: &str = "\
$ORIGIN example.test.
$TTL 3600
@       IN SOA  ns1 hostmaster (
                2024010101 ; serial
                7200 3600 1209600 300 )
        IN NS   ns1
        IN MX   10 mail
        IN MX   20 mail2.example.net.
        IN TXT  \"v=spf1 mx -all\"
ns1     IN A    10.0.0.53
mail    IN A    10.0.0.25
        IN AAAA 2001:db8::25
www     IN CNAME web
web  60 IN A    10.0.0.80
ftp     IN CNAME elsewhere.example.net.
loop1   IN CNAME loop2
loop2   IN CNAME loop1
a.b.deep IN A   10.0.0.9
";

    const REVERSE_ZONE: &str = "\
$TTL 3600
@  IN SOA ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
80 IN PTR web.example.test.
";

    fn zones() -> Vec<Zone> {
        vec![
            Zone::parse(LAB_ZONE, None).unwrap(),
            Zone::parse(REVERSE_ZONE, Some("0.0.10.in-addr.arpa.")).unwrap(),
        ]
    }

    fn query(name: &str, qtype: RecordType, edns: Option<Edns>) -> Message {
        let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
        m.edns = edns;
        m
    }

    fn ask(message: &Message, transport: Transport) -> Message {
        let bytes = respond(&zones(), &message.to_vec().unwrap(), transport).unwrap();
        Message::from_vec(&bytes).unwrap()
    }

    /// A plain query over UDP, answered.
    fn ask_udp(name: &str, qtype: RecordType) -> Message {
        ask(&query(name, qtype, None), Transport::Udp)
    }

    fn rendered(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn mx_with_addresses_in_additional() {
        let r = ask_udp("example.test.", RecordType::MX);
        assert_eq!(r.metadata.id, 0x1234);
        assert_eq!(r.metadata.message_type, MessageType::Response);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative);
        assert!(r.metadata.recursion_desired);
        assert!(!r.metadata.recursion_available);
        assert_eq!(
            rendered(&r.answers),
            [
                "example.test. 3600 IN MX 10 mail.example.test.",
                "example.test. 3600 IN MX 20 mail2.example.net."
            ]
        );
        assert_eq!(
            rendered(&r.additionals),
            [
                "mail.example.test. 3600 IN A 10.0.0.25",
                "mail.example.test. 3600 IN AAAA 2001:db8::25"
            ]
        );
        assert!(r.edns.is_none());
    }

    #[test]
    fn each_record_type_from_the_zone() {
        let cases = [
            (
                "mail.example.test.",
                RecordType::A,
                "mail.example.test. 3600 IN A 10.0.0.25",
            ),
            (
                "mail.example.test.",
                RecordType::AAAA,
                "mail.example.test. 3600 IN AAAA 2001:db8::25",
            ),
            (
                "example.test.",
                RecordType::NS,
                "example.test. 3600 IN NS ns1.example.test.",
            ),
            (
                "example.test.",
                RecordType::TXT,
                "example.test. 3600 IN TXT v=spf1 mx -all",
            ),
            (
                "80.0.0.10.in-addr.arpa.",
                RecordType::PTR,
                "80.0.0.10.in-addr.arpa. 3600 IN PTR web.example.test.",
            ),
            (
                "example.test.",
                RecordType::SOA,
                "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300",
            ),
        ];
        for (name, qtype, expected) in cases {
            let r = ask_udp(name, qtype);
            assert_eq!(rendered(&r.answers), [expected], "{name} {qtype}");
        }
    }

    #[test]
    fn names_are_case_insensitive() {
        let r = ask_udp("MAIL.Example.TEST.", RecordType::A);
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn cname_is_followed_inside_the_zone() {
        let r = ask_udp("www.example.test.", RecordType::A);
        assert_eq!(
            rendered(&r.answers),
            [
                "www.example.test. 3600 IN CNAME web.example.test.",
                "web.example.test. 60 IN A 10.0.0.80"
            ]
        );
        let r = ask_udp("ftp.example.test.", RecordType::A);
        assert_eq!(
            rendered(&r.answers),
            ["ftp.example.test. 3600 IN CNAME elsewhere.example.net."]
        );
        let r = ask_udp("www.example.test.", RecordType::CNAME);
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn cname_loop_is_servfail_not_a_hang() {
        let r = ask_udp("loop1.example.test.", RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
    }

    #[test]
    fn nxdomain_and_nodata_carry_the_soa() {
        let r = ask_udp("nope.example.test.", RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
        assert!(r.metadata.authoritative);
        assert!(r.answers.is_empty());
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);

        let r = ask_udp("mail.example.test.", RecordType::MX);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);

        // An empty non-terminal exists: NODATA, not NXDOMAIN.
        let r = ask_udp("b.deep.example.test.", RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    }

    #[test]
    fn outside_every_zone_is_refused() {
        let r = ask_udp("www.example.com.", RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        assert!(!r.metadata.authoritative);
        assert_eq!(r.queries.len(), 1);
    }

    #[test]
    fn edns_is_answered_with_edns() {
        let mut edns = Edns::new();
        edns.set_max_payload(4096);
        let r = ask(
            &query("example.test.", RecordType::MX, Some(edns)),
            Transport::Udp,
        );
        let edns = r.edns.expect("OPT record in the response");
        assert_eq!(edns.max_payload(), EDNS_PAYLOAD);
        assert_eq!(edns.version(), 0);
    }

    #[test]
    fn unknown_edns_version_is_badvers() {
        let mut edns = Edns::new();
        edns.set_version(1);
        let r = ask(
            &query("example.test.", RecordType::MX, Some(edns)),
            Transport::Udp,
        );
        // RCODE 16 is BADVERS with an OPT record (BADSIG shares the number in TSIG).
        assert_eq!(u16::from(r.metadata.response_code), 16);
        assert!(r.edns.is_some());
    }

    #[test]
    fn large_udp_answer_is_truncated_but_not_over_tcp() {
        let mut text = LAB_ZONE.to_string();
        for i in 0..60 {
            text.push_str(&format!("big IN A 10.0.1.{i}\n"));
        }
        let zones = vec![Zone::parse(&text, None).unwrap()];
        let q = query("big.example.test.", RecordType::A, None)
            .to_vec()
            .unwrap();
        let udp = Message::from_vec(&respond(&zones, &q, Transport::Udp).unwrap()).unwrap();
        assert!(udp.metadata.truncation);
        assert!(udp.answers.is_empty());
        let tcp = Message::from_vec(&respond(&zones, &q, Transport::Tcp).unwrap()).unwrap();
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 60);
    }

    #[test]
    fn garbage_with_a_header_is_formerr_and_without_is_dropped() {
        let mut bytes = query("example.test.", RecordType::A, None)
            .to_vec()
            .unwrap();
        bytes.truncate(15);
        let r = Message::from_vec(&respond(&zones(), &bytes, Transport::Udp).unwrap()).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
        assert_eq!(r.metadata.id, 0x1234);
        assert!(respond(&zones(), &[1, 2, 3], Transport::Udp).is_none());
        assert!(respond(&zones(), &[], Transport::Udp).is_none());
        // A response is never answered.
        let mut response = query("example.test.", RecordType::A, None);
        response.metadata.message_type = MessageType::Response;
        assert!(respond(&zones(), &response.to_vec().unwrap(), Transport::Udp).is_none());
    }

    #[test]
    fn other_opcodes_are_notimp_and_two_questions_formerr() {
        let mut m = query("example.test.", RecordType::A, None);
        m.metadata.op_code = OpCode::Status;
        assert_eq!(
            ask(&m, Transport::Udp).metadata.response_code,
            ResponseCode::NotImp
        );
        let mut m = query("example.test.", RecordType::A, None);
        m.add_query(Query::query(
            Name::from_str("web.example.test.").unwrap(),
            RecordType::A,
        ));
        assert_eq!(
            ask(&m, Transport::Udp).metadata.response_code,
            ResponseCode::FormErr
        );
    }

    #[test]
    fn any_returns_every_record_at_the_name() {
        let r = ask(
            &query("mail.example.test.", RecordType::ANY, None),
            Transport::Tcp,
        );
        assert_eq!(r.answers.len(), 2);
    }

    #[test]
    fn zone_errors_name_the_problem() {
        let no_soa = "$ORIGIN x.test.\n$TTL 60\n@ IN A 10.0.0.1\n";
        let err = Zone::parse(no_soa, None).unwrap_err().to_string();
        assert_eq!(err, "dns zone (no origin): the zone has no SOA record");
        let include = "$INCLUDE /etc/passwd\n";
        assert!(
            Zone::parse(include, Some("x.test."))
                .unwrap_err()
                .to_string()
                .contains("$INCLUDE")
        );
        let broken = "@ IN SOA ns1 hm 1 2 3 4 5\nwww IN A not-an-address\n";
        assert!(Zone::parse(broken, Some("x.test.")).is_err());
        let no_origin = "@ IN SOA ns1 hm 1 2 3 4 5\n";
        assert!(Zone::parse(no_origin, None).is_err());
    }
}
