//! DNS query client with dig-like output, as the dns-query lab runs `dig @server mx domain`.
//!
//! Over UDP it uses a socket the caller bound inside the client's network namespace and
//! connects it to the server, so an ICMP port unreachable comes back as "refused" instead of a
//! silent timeout. Over TCP it uses the caller's [`Connect`]. The transaction id is the
//! caller's choice, so a lab's query is the same on every run; [`render_dig`] prints the
//! response the way dig does, with the query time left out unless asked for.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::{Connect, Direction, Report, SessionOutcome, TranscriptLine, connect_with};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsQuery {
    pub name: String,
    #[serde(serialize_with = "serialize_type")]
    pub qtype: RecordType,
    pub id: u16,
    /// Send an EDNS OPT record (dig does by default).
    pub edns: bool,
    pub recursion_desired: bool,
}

fn serialize_type<S: serde::Serializer>(t: &RecordType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_string())
}

impl DnsQuery {
    /// A query as dig sends it: recursion desired, EDNS on.
    pub fn new(name: impl Into<String>, qtype: RecordType, id: u16) -> Self {
        Self {
            name: name.into(),
            qtype,
            id,
            edns: true,
            recursion_desired: true,
        }
    }

    fn message(&self) -> Result<Message, String> {
        let name =
            Name::from_ascii(&self.name).map_err(|e| format!("bad name {:?}: {e}", self.name))?;
        let mut m = Message::new(self.id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = self.recursion_desired;
        m.add_query(Query::query(name, self.qtype));
        if self.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            m.set_edns(edns);
        }
        Ok(m)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Transport {
    Udp,
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsReport {
    #[serde(flatten)]
    pub report: Report,
    /// `NOERROR`, `NXDOMAIN`, `REFUSED`, ...
    pub status: Option<String>,
    /// Answer records in presentation format.
    pub answers: Vec<String>,
    /// The response as dig prints it, without the query time.
    pub dig: Option<String>,
    /// Time from sending the query to receiving the response.
    pub elapsed: Option<Duration>,
    #[serde(skip)]
    pub response: Option<Message>,
}

impl DnsReport {
    /// A report of a query that got no response.
    pub fn failed(outcome: SessionOutcome, transcript: Vec<TranscriptLine>) -> Self {
        Self {
            report: Report {
                transcript,
                outcome,
            },
            status: None,
            answers: Vec::new(),
            dig: None,
            elapsed: None,
            response: None,
        }
    }
}

/// The dig name of a response code.
pub fn status_name(code: u16) -> String {
    match code {
        0 => "NOERROR".to_string(),
        1 => "FORMERR".to_string(),
        2 => "SERVFAIL".to_string(),
        3 => "NXDOMAIN".to_string(),
        4 => "NOTIMP".to_string(),
        5 => "REFUSED".to_string(),
        16 => "BADVERS".to_string(),
        n => format!("RCODE{n}"),
    }
}

/// Pads `text` with tabs to `column`, at least one tab, as dig aligns its columns.
fn tab_to(text: &str, column: usize) -> String {
    let mut out = text.to_string();
    let mut len = text.len();
    loop {
        out.push('\t');
        len = (len / 8 + 1) * 8;
        if len >= column {
            return out;
        }
    }
}

fn rdata_text(data: &RData) -> String {
    match data {
        // dig quotes each character-string of a TXT record.
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| format!("\"{}\"", String::from_utf8_lossy(s).replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// One record as dig prints it: `name<TAB>ttl<TAB>IN<TAB>TYPE<TAB>rdata`.
pub fn record_line(record: &Record) -> String {
    format!(
        "{}{}\t{}\t{}\t{}",
        tab_to(&record.name.to_string(), 24),
        record.ttl,
        record.dns_class,
        record.record_type(),
        rdata_text(&record.data)
    )
}

/// The response as dig prints it (header, flags, OPT, sections, server); the query time is
/// included only when `elapsed` is given, since it differs between runs.
pub fn render_dig(
    response: &Message,
    server: SocketAddr,
    transport: Transport,
    elapsed: Option<Duration>,
) -> String {
    let m = &response.metadata;
    let mut out = String::new();
    out.push_str(&format!(
        ";; ->>HEADER<<- opcode: {}, status: {}, id: {}\n",
        format!("{:?}", m.op_code).to_ascii_uppercase(),
        status_name(u16::from(m.response_code)),
        m.id
    ));
    let flags: Vec<&str> = [
        (m.message_type == MessageType::Response, "qr"),
        (m.authoritative, "aa"),
        (m.truncation, "tc"),
        (m.recursion_desired, "rd"),
        (m.recursion_available, "ra"),
        (m.authentic_data, "ad"),
        (m.checking_disabled, "cd"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    out.push_str(&format!(
        ";; flags: {}; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}\n",
        flags.join(" "),
        response.queries.len(),
        response.answers.len(),
        response.authorities.len(),
        response.additionals.len() + usize::from(response.edns.is_some())
    ));
    if let Some(edns) = &response.edns {
        out.push_str(&format!(
            "\n;; OPT PSEUDOSECTION:\n; EDNS: version: {}, flags:{}; udp: {}\n",
            edns.version(),
            if edns.flags().dnssec_ok { " do" } else { "" },
            edns.max_payload()
        ));
    }
    if !response.queries.is_empty() {
        out.push_str(";; QUESTION SECTION:\n");
        for q in &response.queries {
            out.push_str(&format!(
                "{}{}\t{}\n",
                tab_to(&format!(";{}", q.name), 32),
                q.query_class,
                q.query_type
            ));
        }
    }
    for (title, records) in [
        ("ANSWER", &response.answers),
        ("AUTHORITY", &response.authorities),
        ("ADDITIONAL", &response.additionals),
    ] {
        if records.is_empty() {
            continue;
        }
        out.push_str(&format!("\n;; {title} SECTION:\n"));
        for r in records {
            out.push_str(&record_line(r));
            out.push('\n');
        }
    }
    out.push('\n');
    if let Some(elapsed) = elapsed {
        out.push_str(&format!(";; Query time: {} msec\n", elapsed.as_millis()));
    }
    let transport = match transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    };
    out.push_str(&format!(
        ";; SERVER: {}#{}({}) ({transport})\n",
        server.ip(),
        server.port(),
        server.ip()
    ));
    out
}

fn sent_line(query: &DnsQuery) -> TranscriptLine {
    TranscriptLine {
        direction: Direction::Sent,
        text: format!("query id {} {} {}", query.id, query.name, query.qtype),
    }
}

fn finish(
    query: &DnsQuery,
    server: SocketAddr,
    transport: Transport,
    mut transcript: Vec<TranscriptLine>,
    bytes: &[u8],
    elapsed: Duration,
) -> DnsReport {
    let response = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(e) => {
            let outcome = SessionOutcome::Failed {
                message: format!("malformed response: {e}"),
            };
            return DnsReport::failed(outcome, transcript);
        }
    };
    let status = status_name(u16::from(response.metadata.response_code));
    transcript.push(TranscriptLine {
        direction: Direction::Received,
        text: format!(
            "response id {} {status} answers {}",
            response.metadata.id,
            response.answers.len()
        ),
    });
    let outcome = if response.metadata.id != query.id {
        SessionOutcome::Unexpected {
            step: "response".to_string(),
            expected: format!("id {}", query.id),
            got: format!("id {}", response.metadata.id),
        }
    } else {
        SessionOutcome::Completed
    };
    DnsReport {
        report: Report {
            transcript,
            outcome,
        },
        status: Some(status),
        answers: response.answers.iter().map(record_line).collect(),
        dig: Some(render_dig(&response, server, transport, None)),
        elapsed: Some(elapsed),
        response: Some(response),
    }
}

/// The query's wire bytes, or why it cannot be encoded.
fn encode(query: &DnsQuery) -> Result<Vec<u8>, SessionOutcome> {
    query
        .message()
        .and_then(|m| m.to_vec().map_err(|e| e.to_string()))
        .map_err(|message| SessionOutcome::Failed { message })
}

/// How a query travels: a datagram from a socket already bound in the client's namespace, or
/// a TCP connection (two-byte length framing).
pub enum Via<'a> {
    Udp(&'a UdpSocket),
    Tcp(&'a Connect),
}

/// Sends `query` to `server` and reads the response.
pub async fn query(
    via: Via<'_>,
    server: SocketAddr,
    query: &DnsQuery,
    timeout: Duration,
) -> DnsReport {
    let transcript = vec![sent_line(query)];
    let bytes = match encode(query) {
        Ok(bytes) => bytes,
        Err(outcome) => return DnsReport::failed(outcome, transcript),
    };
    let (transport, response) = match via {
        Via::Udp(socket) => (
            Transport::Udp,
            over_udp(socket, server, &bytes, timeout).await,
        ),
        Via::Tcp(connect) => (
            Transport::Tcp,
            over_tcp(connect, server, &bytes, timeout).await,
        ),
    };
    match response {
        Ok((body, took)) => finish(query, server, transport, transcript, &body, took),
        Err(outcome) => DnsReport::failed(outcome, transcript),
    }
}

/// No response in time.
fn no_response(server: SocketAddr) -> SessionOutcome {
    SessionOutcome::TimedOut {
        waiting_for: format!("a response from {server}"),
    }
}

/// One datagram out, one back: the response and the time from sending it.
async fn over_udp(
    socket: &UdpSocket,
    server: SocketAddr,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(Vec<u8>, Duration), SessionOutcome> {
    let failed = |e: std::io::Error| SessionOutcome::of_connect_error(server, &e);
    socket.connect(server).await.map_err(failed)?;
    let started = Instant::now();
    socket.send(bytes).await.map_err(failed)?;
    let mut buf = vec![0u8; 65_535];
    match tokio::time::timeout(timeout, socket.recv(&mut buf)).await {
        Ok(Ok(n)) => {
            buf.truncate(n);
            Ok((buf, started.elapsed()))
        }
        Ok(Err(e)) => Err(failed(e)),
        Err(_) => Err(no_response(server)),
    }
}

/// A connection, the framed query, the framed response: the response and the time from
/// connecting.
async fn over_tcp(
    connect: &Connect,
    server: SocketAddr,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(Vec<u8>, Duration), SessionOutcome> {
    let started = Instant::now();
    let mut stream = connect_with(connect, server, timeout).await?;
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    let exchange = async {
        stream.write_all(&framed).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut body).await?;
        let _ = stream.shutdown().await;
        Ok::<_, std::io::Error>(body)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(body)) => Ok((body, started.elapsed())),
        Ok(Err(_)) => Err(SessionOutcome::Closed {
            waiting_for: format!("a response from {server}"),
        }),
        Err(_) => Err(no_response(server)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::rdata::{A, MX, TXT};
    use std::str::FromStr;

    #[test]
    fn dig_columns() {
        assert_eq!(tab_to("example.test.", 24), "example.test.\t\t");
        assert_eq!(tab_to("mail.example.test.", 24), "mail.example.test.\t");
        assert_eq!(tab_to(";example.test.", 32), ";example.test.\t\t\t");
        assert_eq!(
            tab_to("a-very-long-name.example.test.", 24),
            "a-very-long-name.example.test.\t"
        );
    }

    #[test]
    fn renders_like_dig() {
        let name = Name::from_str("example.test.").unwrap();
        let mut m = Message::new(4660, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(name.clone(), RecordType::MX));
        m.add_answer(Record::from_rdata(
            name.clone(),
            3600,
            RData::MX(MX::new(10, Name::from_str("mail.example.test.").unwrap())),
        ));
        m.add_answer(Record::from_rdata(
            name,
            3600,
            RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        ));
        m.add_additional(Record::from_rdata(
            Name::from_str("mail.example.test.").unwrap(),
            3600,
            RData::A(A::new(10, 0, 0, 25)),
        ));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        m.set_edns(edns);
        let server = "10.0.0.53:53".parse().unwrap();
        assert_eq!(
            render_dig(&m, server, Transport::Udp, Some(Duration::from_millis(3))),
            ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4660\n\
             ;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 2\n\
             \n\
             ;; OPT PSEUDOSECTION:\n\
             ; EDNS: version: 0, flags:; udp: 1232\n\
             ;; QUESTION SECTION:\n\
             ;example.test.\t\t\tIN\tMX\n\
             \n\
             ;; ANSWER SECTION:\n\
             example.test.\t\t3600\tIN\tMX\t10 mail.example.test.\n\
             example.test.\t\t3600\tIN\tTXT\t\"v=spf1 -all\"\n\
             \n\
             ;; ADDITIONAL SECTION:\n\
             mail.example.test.\t3600\tIN\tA\t10.0.0.25\n\
             \n\
             ;; Query time: 3 msec\n\
             ;; SERVER: 10.0.0.53#53(10.0.0.53) (UDP)\n"
        );
    }

    #[test]
    fn status_names() {
        assert_eq!(status_name(u16::from(ResponseCode::NXDomain)), "NXDOMAIN");
        assert_eq!(status_name(u16::from(ResponseCode::Refused)), "REFUSED");
        assert_eq!(status_name(16), "BADVERS");
        assert_eq!(status_name(9), "RCODE9");
    }

    #[test]
    fn query_message_is_what_dig_sends() {
        let q = DnsQuery::new("example.test", RecordType::MX, 7);
        let m = q.message().unwrap();
        assert_eq!(m.metadata.id, 7);
        assert!(m.metadata.recursion_desired);
        assert_eq!(m.edns.as_ref().unwrap().max_payload(), 1232);
        assert!(
            DnsQuery::new("bad..name", RecordType::A, 1)
                .message()
                .is_err()
        );
    }
}
