//! DNS queries matched to their responses within a conversation, by transaction id and
//! question, with the response time.
//!
//! Contract: a response with no query seen still gets an exchange (query frame unknown); a
//! repeated query opens a new exchange.

use super::*;

pub(super) fn dns_exchange(c: &mut Conversation, dns: &wire::Dns, frame: &FrameRef<'_>) {
    let blank = |query_frame, query_ts| DnsExchange {
        id: dns.id,
        questions: dns.questions.clone(),
        query_frame,
        query_ts,
        response_frame: None,
        rcode: None,
        answers: Vec::new(),
        response_time: None,
    };
    if !dns.response {
        c.dns.push(blank(Some(frame.number), Some(frame.ts)));
        return;
    }
    let pos = c
        .dns
        .iter()
        .position(|x| x.id == dns.id && x.response_frame.is_none() && x.query_frame.is_some());
    let slot = match pos {
        Some(p) => &mut c.dns[p],
        None => {
            // A response whose query was not captured.
            c.dns.push(blank(None, None));
            let last = c.dns.len() - 1;
            &mut c.dns[last]
        }
    };
    slot.response_frame = Some(frame.number);
    slot.rcode = Some(dns.rcode.clone());
    slot.answers = dns.answers.clone();
    slot.response_time = slot.query_ts.map(|q| frame.ts.saturating_sub(q));
}

#[cfg(test)]
mod tests {
    use super::super::super::fixture::*;
    use super::*;

    #[test]
    fn dns_query_matches_its_response() {
        let mut w = Wire::new();
        w.udp(CLIENT, SERVER, 40000, 53, &Wire::dns_message(0x1234, None));
        w.udp(CLIENT, SERVER, 40000, 53, &Wire::dns_message(0x9999, None));
        w.udp(
            SERVER,
            CLIENT,
            53,
            40000,
            &Wire::dns_message(0x1234, Some("mail.example.test.")),
        );
        let a = w.analyze();
        let c = &a.conversations[0];
        assert_eq!(c.dns.len(), 2);
        let x = &c.dns[0];
        assert_eq!(
            (x.id, x.query_frame, x.response_frame),
            (0x1234, Some(1), Some(3))
        );
        assert_eq!(x.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(x.answers[0].data, "10 mail.example.test.");
        assert_eq!(x.response_time, Some(Duration::from_millis(20)));
        assert_eq!(c.dns[1].response_frame, None);
    }
}
