//! The expectation registry: every kind of `[[expect]]` table, one row of [`EXPECT_KINDS`]
//! each, as the step registry (`steps/`) does for steps.
//!
//! A row names the key that selects the kind (`file`, `conversation`, `flow`, ...), how it is
//! written (for the hint of an expectation without exactly one kind), the other keys the kind
//! takes, and the function that reads and validates it into an [`Expect`]. The "exactly one
//! kind" error, its hint and the "X does not go with KIND" errors are computed from the table.
//! The check side, `check::EXPECT_CHECKS`, has one row per key of this table (a unit test
//! there keeps the two in step), and [`Expect::kind`] names the row an expectation came from.
//!
//! Contract: an expectation of two kinds, none, or a key that does not go with its kind is
//! refused at the expectation's span; a key that belongs to no kind was already refused by
//! serde.

mod conversation;
mod file;

use std::ops::Range;

use toml::Spanned;

use super::{Ctx, RawExpect, Resolver, net, protocol};
use crate::scenario::{Expect, ScenarioError};

/// One kind of expectation. See the module documentation.
pub(super) struct ExpectKind {
    /// The key that selects this kind.
    pub(super) key: &'static str,
    /// How the kind is written, in the hint of an expectation without exactly one kind.
    pub(super) usage: &'static str,
    /// A whole expectation of this kind, valid between hosts `client` (10.0.0.1, eth0) and
    /// `server` (10.0.0.2, eth0): what the tests of both registries read.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) example: &'static str,
    /// The keys it takes besides its own.
    pub(super) takes: &'static [&'static str],
    pub(super) parse: fn(&ExpectInput) -> Result<Expect, ScenarioError>,
}

/// Every expectation kind, in the order the hint lists them.
pub(super) const EXPECT_KINDS: &[ExpectKind] = &[
    file::KIND,
    conversation::KIND,
    protocol::DNS_EXPECT,
    net::RULE,
    net::FLOW,
    net::NO_FLOW,
    net::CAPTURE,
    super::filter::KIND,
    super::alerts::KIND,
];

/// What a kind's parser is given: the expectation as written.
pub(super) struct ExpectInput<'a> {
    pub(super) cx: &'a Ctx<'a>,
    pub(super) raw: &'a RawExpect,
    /// The first byte of the expectation, where errors about the whole table point.
    pub(super) here: Range<usize>,
    /// The expectation's line in the file.
    pub(super) line: usize,
    pub(super) resolver: &'a Resolver<'a>,
}

/// The key and the example of every expectation kind, in table order (what the check side's
/// unit test holds its own table against).
#[cfg(test)]
pub(crate) fn expect_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    EXPECT_KINDS.iter().map(|k| (k.key, k.example))
}

pub(super) fn one_of(
    cx: &Ctx,
    s: &Spanned<String>,
    allowed: &[&str],
    what: &str,
) -> Result<String, ScenarioError> {
    if allowed.contains(&s.get_ref().as_str()) {
        Ok(s.get_ref().clone())
    } else {
        Err(cx
            .err(cx.inner(s), format!("unknown {what} {:?}", s.get_ref()))
            .with_hint(format!("{what} is one of: {}", allowed.join(", "))))
    }
}

/// The kinds that take `key`, as "a, b and c".
fn kinds_taking(key: &str) -> String {
    super::kinds_taking(EXPECT_KINDS.iter().map(|k| (k.key, k.takes)), key)
}

pub(super) fn parse_expect(
    cx: &Ctx,
    expect: &Spanned<RawExpect>,
    given: &[String],
    resolver: &Resolver,
) -> Result<Expect, ScenarioError> {
    let span = expect.span();
    let here = span.start..span.start + 1;
    let given_kinds: Vec<&ExpectKind> = EXPECT_KINDS
        .iter()
        .filter(|k| given.iter().any(|g| g == k.key))
        .collect();
    // A kind's key that another given kind takes belongs to that kind: beside a flow,
    // `capture` picks the capture whose lines count; alone, it is a kind.
    let selected: Vec<&ExpectKind> = given_kinds
        .iter()
        .filter(|k| !given_kinds.iter().any(|o| o.takes.contains(&k.key)))
        .copied()
        .collect();
    let [kind] = selected.as_slice() else {
        let usages: Vec<&str> = EXPECT_KINDS.iter().map(|k| k.usage).collect();
        let hint = format!("an expectation has exactly one of: {}", usages.join("; "));
        // A key of some kind without its kind: name the kinds it goes with.
        if let (None, Some(key)) = (selected.first(), given.first()) {
            return Err(cx
                .err(here, format!("{key} goes with {}", kinds_taking(key)))
                .with_hint(hint));
        }
        let keys: Vec<&str> = EXPECT_KINDS.iter().map(|k| k.key).collect();
        return Err(cx
            .err(
                here,
                format!("an expectation needs exactly one of {}", keys.join(", ")),
            )
            .with_hint(hint));
    };
    if let Some(stray) = given
        .iter()
        .find(|g| *g != kind.key && !kind.takes.contains(&g.as_str()))
    {
        return Err(cx
            .err(here, format!("{stray} does not go with {}", kind.key))
            .with_hint(format!("{stray} goes with {}", kinds_taking(stray))));
    }
    let input = ExpectInput {
        cx,
        raw: expect.get_ref(),
        here,
        line: cx.line(&span),
        resolver,
    };
    (kind.parse)(&input)
}

#[cfg(test)]
mod tests {
    use super::EXPECT_KINDS;
    use crate::scenario::ScenarioError;
    use crate::scenario::testing::{TWO_HOSTS, file, refused};

    /// The two-host lab, captured, with one expectation.
    fn lab(expect: &str) -> String {
        format!("{TWO_HOSTS}capture = true\n[[expect]]\n{expect}\n")
    }

    fn err(expect: &str) -> ScenarioError {
        refused(&lab(expect))
    }

    #[test]
    fn the_kind_count_and_stray_keys_come_from_the_table() {
        let e = err("flow = \"tcp\"\nno_flow = \"udp\"");
        assert_eq!(
            e.msg,
            "an expectation needs exactly one of file, conversation, dns, rule, flow, no_flow, \
             capture, filter, alert"
        );
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .starts_with("an expectation has exactly one of: file = \"HOST:PATH\""),
            "{e}"
        );
        // `capture` beside a flow is the flow's key, not a second kind.
        let plan =
            file(&lab("flow = \"tcp\"\ncapture = \"client:eth0\"")).expect("flow with capture");
        assert_eq!(plan.expects[0].kind(), "flow");
        let e = err("rule = \"client: -A OUTPUT -j DROP\"\npackets = 1\ncapture = \"client:eth0\"");
        assert_eq!(
            e.msg,
            "an expectation needs exactly one of file, conversation, dns, rule, flow, no_flow, \
             capture, filter, alert"
        );
        let e = err("equals = \"x\"");
        assert_eq!(e.msg, "equals goes with file");
        let e = err("conversation = \"client > server:21\"\nequals = \"x\"");
        assert_eq!(e.msg, "equals does not go with conversation");
        assert_eq!(e.hint.as_deref(), Some("equals goes with file"));
        let e = err("dns = \"A example.test\"\nrcode = \"NOERROR\"\noutcome = \"refused\"");
        assert_eq!(e.msg, "outcome does not go with dns");
        assert_eq!(e.hint.as_deref(), Some("outcome goes with conversation"));
    }

    #[test]
    fn every_kind_has_its_own_key_and_is_its_own_kind() {
        let rows: Vec<_> = EXPECT_KINDS.iter().map(|k| (k.key, k.usage)).collect();
        crate::scenario::testing::assert_keys_unique(&rows);
        // An expectation read by a row says it is of that row's kind.
        for kind in EXPECT_KINDS {
            let plan = file(&lab(kind.example)).expect(kind.example);
            assert_eq!(plan.expects[0].kind(), kind.key, "{}", kind.example);
        }
    }
}
