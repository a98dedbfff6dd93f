//! `[[expect]] filter = "EXPR"`: how many frames of a capture a display filter selects, with
//! `count = N`, `at_least = N` or `none = true`, and `capture = "HOST:IFACE"` when the
//! scenario captures in several places.
//!
//! Contract: the expression is compiled here, at load time, so a misspelt field is a
//! `file:line:col` error pointing into the filter string, with the filter module's
//! did-you-mean; the check only runs the compiled filter over the capture.

use super::expects::{ExpectInput, ExpectKind};
use super::*;
use crate::filter::DisplayFilter;

/// Every captured interface of the plan, in the order a run starts the captures.
fn capture_points(hosts: &[HostPlan], links: &[LinkPlan]) -> Vec<(HostId, String)> {
    links
        .iter()
        .flat_map(|l| l.ends.iter())
        .filter(|e| e.capture)
        .map(|e| (e.host, e.iface.clone()))
        .chain(
            (0..hosts.len())
                .filter(|h| hosts[*h].lo.capture)
                .map(|h| (h, "lo".to_string())),
        )
        .collect()
}

/// The row of the expectation registry (`expects::EXPECT_KINDS`).
pub(super) const KIND: ExpectKind = ExpectKind {
    key: "filter",
    usage: "filter = \"EXPR\" with count, at_least or none (and capture = \"HOST:IFACE\")",
    example: "filter = \"tcp\"\nat_least = 1",
    takes: &["count", "at_least", "none", "capture"],
    parse,
};

fn parse(input: &ExpectInput) -> Result<Expect, ScenarioError> {
    let (cx, raw, resolver) = (input.cx, input.raw, input.resolver);
    let here = input.here.clone();
    let filter = raw.filter.as_ref().expect("the kind's key is set");
    let (hosts, links) = (resolver.hosts(), resolver.links());
    let captured = capture_points(hosts, links);
    let hint = "filter = \"EXPR\" with count = N, at_least = N or none = true, and capture = \"HOST:IFACE\" when the scenario has several captures";
    let inner = cx.inner(filter);
    let text = filter.get_ref();
    let compiled = DisplayFilter::compile(text).map_err(|e| {
        // The filter's column counts chars; the scenario's span counts bytes.
        let at = inner.start
            + text
                .char_indices()
                .nth(e.col)
                .map_or(text.len(), |(i, _)| i);
        let width = e.token.len().max(1);
        let err = cx.err(at..at + width, format!("bad filter: {}", e.problem));
        match &e.suggestion {
            Some(s) => err.with_hint(format!("did you mean {s}?")),
            None => err,
        }
    })?;
    let frames = match (
        net::count(cx, &raw.count, &raw.at_least, "count")?,
        &raw.none,
    ) {
        (Some(c), None) => c,
        (None, Some(none)) if *none.get_ref() => Count::Exactly(0),
        (None, Some(none)) => {
            return Err(cx
                .err(none.span(), "none = false says nothing")
                .with_hint("none = true, or count = N or at_least = N"));
        }
        _ => {
            return Err(cx
                .err(
                    here,
                    "a filter expectation needs exactly one of count, at_least, none",
                )
                .with_hint(hint));
        }
    };
    let (host, iface) = match &raw.capture {
        Some(capture) => {
            let (host, iface) = net::host_prefixed(cx, capture, resolver, hint)?;
            let iface = iface.get_ref().trim().to_string();
            if !captured.iter().any(|(h, i)| *h == host && *i == iface) {
                return Err(cx
                    .err(
                        cx.inner(capture),
                        format!("no capture on {}", capture.get_ref()),
                    )
                    .with_hint(captures_hint(hosts, &captured)));
            }
            (host, iface)
        }
        None => match captured.as_slice() {
            [(host, iface)] => (*host, iface.clone()),
            [] => {
                return Err(cx.err(
                    here,
                    "a filter expectation needs a capture, and the scenario has none",
                ));
            }
            _ => {
                return Err(cx
                    .err(here, "the scenario has several captures: say which with capture = \"HOST:IFACE\"")
                    .with_hint(captures_hint(hosts, &captured)));
            }
        },
    };
    Ok(Expect::Filter {
        filter: compiled,
        text: text.clone(),
        host,
        iface,
        frames,
        line: input.line,
    })
}

fn captures_hint(hosts: &[HostPlan], captured: &[(HostId, String)]) -> String {
    let names: Vec<String> = captured
        .iter()
        .map(|(h, i)| format!("{}:{i}", hosts[*h].name))
        .collect();
    format!("the captures are {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use crate::scenario::testing::{TWO_HOSTS, file};
    use crate::scenario::{Count, Expect, Plan, ScenarioError};

    fn plan(captures: &str, extra: &str) -> Result<Plan, ScenarioError> {
        file(&format!("{TWO_HOSTS}{captures}\n{extra}"))
    }

    #[test]
    fn a_filter_expectation_counts_on_the_only_capture() {
        let p = plan(
            "capture = \"server\"",
            "[[expect]]\nfilter = \"tcp.port in {21, 27664}\"\nat_least = 3\n[[expect]]\nfilter = \"icmp\"\nnone = true\n",
        )
        .unwrap();
        let [
            Expect::Filter {
                host,
                iface,
                frames,
                ..
            },
            Expect::Filter { frames: none, .. },
        ] = p.expects.as_slice()
        else {
            panic!("{:?}", p.expects.len())
        };
        assert_eq!(
            (p.hosts[*host].name.as_str(), iface.as_str()),
            ("server", "eth0")
        );
        assert_eq!((*frames, *none), (Count::AtLeast(3), Count::Exactly(0)));
    }

    #[test]
    fn a_misspelt_field_points_into_the_filter_with_a_suggestion() {
        let e = plan(
            "capture = \"server\"",
            "[[expect]]\nfilter = \"arp or tcp.prot == 21\"\ncount = 1\n",
        )
        .expect_err("must fail");
        // Line 8 of the file; `tcp.prot` starts at column 18 (after `filter = "arp or `).
        assert_eq!((e.line, e.col), (8, 18), "{e}");
        assert!(e.msg.starts_with("bad filter"), "{e}");
        assert_eq!(e.hint.as_deref(), Some("did you mean tcp.port?"), "{e}");
    }

    #[test]
    fn bad_filter_expectations_say_what_is_missing() {
        let err = |captures: &str, extra: &str| plan(captures, extra).expect_err("must fail");
        let e = err("capture = \"server\"", "[[expect]]\nfilter = \"tcp\"\n");
        assert!(
            e.msg.contains("exactly one of count, at_least, none"),
            "{e}"
        );
        let e = err(
            "capture = \"server\"",
            "[[expect]]\nfilter = \"tcp\"\nnone = false\n",
        );
        assert!(e.msg.contains("none = false"), "{e}");
        let e = err(
            "capture = \"server\"",
            "[[expect]]\nfilter = \"tcp\"\ncount = 1\nat_least = 1\n",
        );
        assert!(
            e.msg.contains("count and count_at_least") || e.msg.contains("together"),
            "{e}"
        );
        let e = err("", "[[expect]]\nfilter = \"tcp\"\ncount = 1\n");
        assert!(e.msg.contains("has none"), "{e}");
        let e = err(
            "capture = \"server\"",
            "[[expect]]\nfilter = \"tcp\"\ncount = 1\ncapture = \"client:eth0\"\n",
        );
        assert!(e.msg.contains("no capture on client:eth0"), "{e}");
        assert_eq!(
            e.hint.as_deref(),
            Some("the captures are server:eth0"),
            "{e}"
        );
        let e = err(
            "capture = \"server\"",
            "[[expect]]\nfilter = \"tcp\"\ncount = 1\nsyns = 2\n",
        );
        assert!(e.msg.contains("syns does not go with filter"), "{e}");
    }
}
