//! Alerts in a scenario: `[[expect]] alert = "ID SRC > DST"` (with `severity`, `count` or
//! `at_least`), an expectation kind of the registry (`expects::EXPECT_KINDS`), and the
//! `[alerts]` table that changes the catalogue's thresholds (`arp-scan.targets = 20`).
//!
//! Contract: an id, a threshold key, a side or a severity the catalogue does not know is a
//! `file:line:col` error at the word, with a did-you-mean when one is close and the list of
//! what is known otherwise; nothing here runs the detection.

use super::expects::{ExpectInput, ExpectKind};
use super::*;
use crate::catalogue::{REGISTRY, Severity, Thresholds, spec};

/// The row of the expectation registry (`expects::EXPECT_KINDS`).
pub(super) const KIND: ExpectKind = ExpectKind {
    key: "alert",
    usage: "alert = \"ID SRC > DST\" (hosts, addresses or *) with severity, count or at_least",
    example: "alert = \"tcp-port-scan client > server\"",
    takes: &["severity", "count", "at_least"],
    parse,
};

const HINT: &str = "alert = \"tcp-port-scan attacker > server\": an alert id of the catalogue, \
                    then who against whom (host names, addresses, MAC addresses, or * for anyone)";

/// `did you mean X? ` when `word` is close to one of `known`, then `what are: LIST`.
fn known_hint(word: &str, known: &[&str], what: &str) -> String {
    let near = crate::rules::suggest(word, known)
        .map(|n| format!("did you mean {n}? "))
        .unwrap_or_default();
    format!("{near}{what} {}", known.join(", "))
}

fn alert_ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.id).collect()
}

fn parse(input: &ExpectInput) -> Result<Expect, ScenarioError> {
    let (cx, raw, resolver) = (input.cx, input.raw, input.resolver);
    let alert = raw.alert.as_ref().expect("the kind's key is set");
    let inner = cx.inner(alert);
    let text = alert.get_ref();
    // Each word with its span in the file.
    let words: Vec<(&str, Range<usize>)> = text
        .split_whitespace()
        .map(|w| {
            let at = inner.start + (w.as_ptr() as usize - text.as_ptr() as usize);
            (w, at..at + w.len())
        })
        .collect();
    let [(id, id_span), (src, src_span), (">", _), (dst, dst_span)] = words.as_slice() else {
        return Err(cx.err(inner, format!("bad alert {text:?}")).with_hint(HINT));
    };
    let Some(spec) = spec(id) else {
        return Err(cx
            .err(id_span.clone(), format!("unknown alert {id:?}"))
            .with_hint(known_hint(id, &alert_ids(), "the alerts are")));
    };
    let side = |word: &str, span: &Range<usize>| -> Result<AlertSide, ScenarioError> {
        if word == "*" {
            return Ok(AlertSide::Any);
        }
        if let Ok(ip) = word.parse::<IpAddr>() {
            return Ok(AlertSide::Ip(ip));
        }
        if let Some(mac) = mac(word) {
            return Ok(AlertSide::Mac(mac));
        }
        match resolver.host(word, span.clone()) {
            Ok(h) => Ok(AlertSide::Host(h)),
            Err(_) => Err(resolver.unknown(word, span.clone(), true)),
        }
    };
    let src = side(src, src_span)?;
    let dst = side(dst, dst_span)?;
    let severity = match &raw.severity {
        None => None,
        Some(s) => Some(Severity::parse(s.get_ref()).ok_or_else(|| {
            cx.err(cx.inner(s), format!("unknown severity {:?}", s.get_ref()))
                .with_hint("severity is one of: info, low, medium, high")
        })?),
    };
    let count = net::count(cx, &raw.count, &raw.at_least, "count")?;
    Ok(Expect::Alert {
        what: AlertExpect {
            id: spec.id,
            src,
            dst,
            severity,
            count,
        },
        text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        line: input.line,
    })
}

/// `aa:bb:cc:dd:ee:ff`.
fn mac(word: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = word.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

type RawAlerts = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>;

/// The `[alerts]` table: the catalogue's thresholds with the scenario's changes.
pub(super) fn thresholds(cx: &Ctx, raw: &RawAlerts) -> Result<Thresholds, ScenarioError> {
    let mut out = Thresholds::new();
    for (id, keys) in raw {
        let Some(spec) = spec(id.get_ref()) else {
            return Err(cx
                .err(id.span(), format!("unknown alert {:?}", id.get_ref()))
                .with_hint(known_hint(id.get_ref(), &alert_ids(), "the alerts are")));
        };
        let known: Vec<&str> = spec.thresholds.iter().map(|t| t.key).collect();
        for (key, value) in keys {
            let Some(th) = spec.thresholds.iter().find(|t| t.key == key.get_ref()) else {
                let err = cx.err(
                    key.span(),
                    format!("alert {} has no threshold {:?}", spec.id, key.get_ref()),
                );
                return Err(if known.is_empty() {
                    err.with_hint(format!("{} has no threshold to change", spec.id))
                } else {
                    err.with_hint(known_hint(key.get_ref(), &known, "its thresholds are"))
                });
            };
            let number = match value.get_ref() {
                toml::Value::Integer(n) => Some(*n as f64),
                toml::Value::Float(f) => Some(*f),
                _ => None,
            };
            let name = format!("{}.{}", spec.id, th.key);
            match number {
                Some(n) if n.is_finite() && n > 0.0 => {
                    out.set(&name, n).map_err(|e| cx.err(value.span(), e))?;
                }
                _ => {
                    return Err(cx
                        .err(value.span(), format!("{name} takes a positive number"))
                        .with_hint(format!(
                            "{name} = {} ({}; the catalogue's value)",
                            th.default, th.meaning
                        )));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::scenario::testing::{TWO_HOSTS, file};
    use crate::scenario::{AlertSide, Expect, Plan, ScenarioError};

    fn plan(extra: &str) -> Result<Plan, ScenarioError> {
        file(&format!("{TWO_HOSTS}capture = true\n{extra}"))
    }

    #[test]
    fn an_alert_expectation_names_hosts_addresses_and_anyone() {
        let p = plan(
            "[[expect]]\nalert = \"arp-scan  client > *\"\nseverity = \"high\"\n\
             [[expect]]\nalert = \"tcp-port-scan 10.0.0.1 > server\"\nat_least = 15\n",
        )
        .unwrap();
        let [
            Expect::Alert { what: a, text, .. },
            Expect::Alert { what: b, .. },
        ] = p.expects.as_slice()
        else {
            panic!("{:?}", p.expects)
        };
        assert_eq!(text, "arp-scan client > *");
        assert_eq!(
            (a.id, a.src, a.dst),
            ("arp-scan", AlertSide::Host(0), AlertSide::Any)
        );
        assert_eq!(a.severity.map(|s| s.name()), Some("high"));
        assert_eq!(b.src, AlertSide::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(b.dst, AlertSide::Host(1));
        assert_eq!(b.count, Some(crate::scenario::Count::AtLeast(15)));
    }

    #[test]
    fn bad_alert_expectations_point_at_the_word() {
        let e = plan("[[expect]]\nalert = \"tcp-port-scna client > server\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (8, 10), "{e}");
        assert!(e.msg.contains("unknown alert \"tcp-port-scna\""), "{e}");
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean tcp-port-scan?"),
            "{e}"
        );
        let e = plan("[[expect]]\nalert = \"arp-scan attacker > *\"\n").unwrap_err();
        assert!(e.msg.contains("unknown host \"attacker\""), "{e}");
        assert_eq!(e.col, 19, "{e}");
        let e = plan("[[expect]]\nalert = \"arp-scan client\"\n").unwrap_err();
        assert!(e.msg.starts_with("bad alert"), "{e}");
        let e = plan("[[expect]]\nalert = \"arp-scan client > *\"\nseverity = \"critical\"\n")
            .unwrap_err();
        assert!(e.msg.contains("unknown severity"), "{e}");
    }

    #[test]
    fn the_alerts_table_changes_named_thresholds_only() {
        let p = plan("[alerts]\narp-scan.targets = 20\nicmp-tunnel.size = 100.5\n").unwrap();
        assert_eq!(p.alerts.get("arp-scan", "targets"), 20.0);
        assert_eq!(p.alerts.get("icmp-tunnel", "size"), 100.5);
        assert_eq!(p.alerts.get("arp-scan", "window"), 5.0);
        let e = plan("[alerts]\narp-scan.target = 20\n").unwrap_err();
        assert!(
            e.msg.contains("alert arp-scan has no threshold \"target\""),
            "{e}"
        );
        assert_eq!((e.line, e.col), (8, 10), "{e}");
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean targets?"),
            "{e}"
        );
        let e = plan("[alerts]\narp-scn.targets = 20\n").unwrap_err();
        assert!(e.msg.contains("unknown alert \"arp-scn\""), "{e}");
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .contains("did you mean arp-scan?"),
            "{e}"
        );
        let e = plan("[alerts]\ntcp-odd-flags.x = 1\n").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("tcp-odd-flags has no threshold to change")
        );
        let e = plan("[alerts]\narp-scan.targets = -3\n").unwrap_err();
        assert!(e.msg.contains("takes a positive number"), "{e}");
        let e = plan("[alerts]\narp-scan.targets = \"many\"\n").unwrap_err();
        assert!(e.msg.contains("takes a positive number"), "{e}");
    }
}
