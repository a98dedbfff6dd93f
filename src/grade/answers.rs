//! Answers judged by what they mean: the facts a networker reads from a capture and what they
//! accept as the same answer.
//!
//! Contract:
//! - a mail host is the MX host of lowest preference (every host sharing it is right); a
//!   host of the capture with a higher preference is wrong, and the feedback says why;
//! - a PASV data port is any `227` reply of the control connection the student's data
//!   connection used (any `227` of the capture when there is no data connection);
//! - names compare without case and final dot; numbers are decimal unless the rubric's
//!   `bases` allow `0x`, `0o`, `0b` forms, written in a string or as a TOML literal (which
//!   [`read`] keeps as written); the right port in a base not allowed is told to be written in
//!   decimal;
//! - a DHCP answer is the fact of the first Offer, Request or ACK of the capture: the offered
//!   address, the server's identifier and host name, the lease, T1 and T2, broadcast or
//!   unicast ACK, the relay agent (`none` for 0.0.0.0), and `arp` for the probe after the ACK.

use std::collections::BTreeMap;

use crate::analyze::Analysis;

use super::rubric::Fact;

use super::evidence::{mx_records, normal_host, pasv_replies};

/// answers.toml read as written: an integer literal in a base other than 10 (`0x9c40`, which
/// TOML itself reads as 40000) is kept as its text, so `bases` judges it as it judges the same
/// text in a string.
pub fn read(text: &str) -> Result<toml::Table, toml::de::Error> {
    let spanned: BTreeMap<String, toml::Spanned<toml::Value>> = toml::from_str(text)?;
    Ok(spanned
        .into_iter()
        .map(|(key, v)| {
            let raw = text.get(v.span()).unwrap_or("").trim();
            let value = match v.into_inner() {
                toml::Value::Integer(_)
                    if ["0x", "0o", "0b"].iter().any(|p| raw.starts_with(p)) =>
                {
                    toml::Value::String(raw.to_string())
                }
                value => value,
            };
            (key, value)
        })
        .collect())
}

/// The value of an answer written in one of `bases` (10 always).
pub fn number(text: &str, bases: &[u32]) -> Option<i64> {
    let t = text.trim().replace('_', "");
    let lower = t.to_ascii_lowercase();
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            return bases
                .contains(&base)
                .then(|| i64::from_str_radix(digits, base).ok())
                .flatten();
        }
    }
    t.parse().ok()
}

pub fn pasv(a: &Analysis, key: &str, given: &str, n: Option<i64>) -> Result<(), String> {
    let replies = pasv_replies(a);
    let Some((_, reply, port)) = replies.last() else {
        return Err(format!(
            "your capture holds no 227 reply, so {key} = {given} cannot be checked"
        ));
    };
    // The control connections whose data connection the student opened.
    let used: Vec<usize> = a
        .conversations
        .iter()
        .filter_map(|c| c.ftp_data.map(|d| d.control))
        .collect();
    let of_used: Vec<&(usize, String, u16)> = replies
        .iter()
        .filter(|(c, _, _)| used.is_empty() || used.contains(c))
        .collect();
    if of_used.iter().any(|(_, _, p)| n == Some(i64::from(*p))) {
        return Ok(());
    }
    if let Some((_, r, p)) = replies.iter().find(|(_, _, p)| n == Some(i64::from(*p))) {
        return Err(format!(
            "{key} = {given} comes from the 227 reply {r} (port {p}) of a control connection \
             your data connection did not use"
        ));
    }
    // The right port in a base the rubric does not allow: say so rather than "not the port".
    if let Some(x) = n.is_none().then(|| number(given, &[2, 8, 16])).flatten()
        && of_used.iter().any(|(_, _, p)| i64::from(*p) == x)
    {
        return Err(format!("{key} = {given}: write the port in decimal"));
    }
    let (reply, port) = of_used.last().map_or((reply, port), |(_, r, p)| (r, p));
    Err(format!(
        "{key} = {given} is not the data port of the 227 reply in your capture: {reply} \
         gives p1*256+p2 = {port}"
    ))
}

pub fn mx(a: &Analysis, key: &str, given: &str) -> Result<(), String> {
    let records = mx_records(a);
    let Some(best) = records.iter().map(|(p, _)| *p).min() else {
        return Err(format!(
            "your capture holds no MX answer, so {key} = {given:?} cannot be checked"
        ));
    };
    let first: Vec<&str> = records
        .iter()
        .filter(|(p, _)| *p == best)
        .map(|(_, h)| h.as_str())
        .collect();
    let host = normal_host(given);
    if first.contains(&host.as_str()) {
        return Ok(());
    }
    if let Some((pref, _)) = records.iter().find(|(_, h)| *h == host) {
        return Err(format!(
            "{host} has preference {pref}; mail goes to {}, preference {best}, first",
            first.join(" or ")
        ));
    }
    let all: Vec<String> = records
        .iter()
        .map(|(p, h)| format!("{h}, preference {p}"))
        .collect();
    Err(format!(
        "{key} = {given:?} is not the mail host of the MX answer in your capture ({})",
        all.join("; ")
    ))
}

/// A DHCP answer: the fact read from the student's capture (see [`Fact`]'s DHCP variants),
/// addresses and words compared without case, times as whole seconds.
pub fn dhcp(
    a: &Analysis,
    fact: Fact,
    key: &str,
    given: &str,
    n: Option<i64>,
) -> Result<(), String> {
    use crate::wire::dhcp::{MessageType, code};
    let first = |kind: MessageType| a.dhcp.iter().find(|f| f.kind == Some(kind));
    let missing = |what: &str| {
        format!("your capture holds no DHCP {what}, so {key} = {given:?} cannot be checked")
    };
    let option = |f: &crate::analyze::DhcpFact, c: u8| {
        f.options
            .iter()
            .find(|(o, _)| *o == c)
            .map(|(_, v)| v.clone())
    };
    let seconds = |v: Option<String>| v.map(|v| v.trim_end_matches('s').to_string());
    let offer = || first(MessageType::Offer).ok_or_else(|| missing("Offer"));
    let ack = || first(MessageType::Ack).ok_or_else(|| missing("ACK"));
    let (right, what): (Option<String>, &str) = match fact {
        Fact::DhcpOffered => (
            offer()?.your_ip.map(|a| a.to_string()),
            "the address offered",
        ),
        Fact::DhcpServerId => (
            option(offer()?, code::SERVER_ID),
            "the Offer's server identifier",
        ),
        Fact::DhcpServerName => (offer()?.server_name.clone(), "the Offer's server host name"),
        Fact::DhcpLease => (
            seconds(option(ack()?, code::LEASE_TIME)),
            "the ACK's lease time",
        ),
        Fact::DhcpRenewal => (seconds(option(ack()?, code::RENEWAL_TIME)), "the ACK's T1"),
        Fact::DhcpRebinding => (
            seconds(option(ack()?, code::REBINDING_TIME)),
            "the ACK's T2",
        ),
        Fact::DhcpAckDelivery => {
            let to = ack()?.to;
            let how = if to == std::net::IpAddr::from([255, 255, 255, 255]) {
                "broadcast"
            } else {
                "unicast"
            };
            (Some(how.to_string()), "how the ACK travels")
        }
        Fact::DhcpRelay => {
            let request = first(MessageType::Request).ok_or_else(|| missing("Request"))?;
            let relay = request.relay.map_or("none".to_string(), |r| r.to_string());
            (Some(relay), "the Request's relay agent")
        }
        Fact::DhcpAfterAck => {
            let ack = ack()?;
            let probe = ack.your_ip.is_some_and(|yi| {
                a.arp.iter().zip(&a.arp_frames).any(|(f, frame)| {
                    *frame > ack.frame
                        && matches!(f, crate::analyze::ArpFact::Request { asker, target }
                            if asker.is_unspecified() && *target == std::net::IpAddr::V4(yi))
                })
            });
            (probe.then(|| "arp".to_string()), "what follows the ACK")
        }
        Fact::PasvPort
        | Fact::MxHost
        | Fact::AttackerIp
        | Fact::AttackerMac
        | Fact::ScanKind
        | Fact::OpenPorts
        | Fact::PoisonedBinding => unreachable!("not a DHCP fact"),
    };
    let Some(right) = right else {
        return Err(missing(what));
    };
    let word = given.trim().to_ascii_lowercase();
    let same = match right.parse::<i64>() {
        Ok(r) => n == Some(r),
        // No relay may be written as its empty address too; the probe as "arp probe".
        Err(_) => {
            word == right.to_ascii_lowercase()
                || (right == "none" && matches!(word.as_str(), "0.0.0.0" | "no" | ""))
                || (right == "arp" && word.starts_with("arp"))
        }
    };
    if same {
        Ok(())
    } else {
        Err(format!("{key} = {given:?} is not {what} in your capture"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_decimal_unless_the_rubric_allows_other_bases() {
        assert_eq!(number("40000", &[]), Some(40000));
        assert_eq!(number(" 40_000 ", &[]), Some(40000));
        assert_eq!(number("0x9c40", &[]), None);
        assert_eq!(number("0x9C40", &[16]), Some(40000));
        assert_eq!(number("0b1", &[16]), None);
        assert_eq!(number("port", &[16]), None);
    }

    #[test]
    fn integer_literals_in_other_bases_keep_their_text() {
        let t = read("a = 0x9c40\nb = 40_000\nc = 0o777\nd = 0b1\ne = \"0x10\"\nf = 7").unwrap();
        assert_eq!(t["a"].as_str(), Some("0x9c40"));
        assert_eq!(t["b"].as_integer(), Some(40000));
        assert_eq!(t["c"].as_str(), Some("0o777"));
        assert_eq!(t["d"].as_str(), Some("0b1"));
        assert_eq!(t["e"].as_str(), Some("0x10"));
        assert_eq!(t["f"].as_integer(), Some(7));
        assert!(read("a = ").is_err());
    }
}
