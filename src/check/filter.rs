//! Display-filter expectations: how many frames of a capture `filter = "EXPR"` selects.
//!
//! Contract: the filters were compiled when the scenario was loaded; here they only run, in
//! the run's one analysis pass over each capture ([`FilterCounts`] is a frame sink), and the
//! counts are compared with the expectations. A filter sees every frame of its capture in
//! order, as `tcp.stream` and retransmissions need.

use super::CheckResult;
use crate::analyze::FrameSink;
use crate::filter::Matcher;
use crate::scenario::{Count, Expect, Plan};
use crate::wire::{FrameRef, Packet};

/// The filter expectations of one capture, counting the frames each selects.
pub struct FilterCounts<'p> {
    /// For each expectation on this capture: its index in the plan, its matcher, its count.
    counting: Vec<(usize, Matcher<'p>, u64)>,
}

impl<'p> FilterCounts<'p> {
    /// The counters of the plan's filter expectations on `host`'s capture of `iface`.
    pub fn new(plan: &'p Plan, host: &str, iface: &str) -> Self {
        let counting = plan
            .expects
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Expect::Filter {
                    filter,
                    host: h,
                    iface: f,
                    ..
                } if plan.hosts[*h].name == host && f == iface => Some((i, filter.matcher(), 0)),
                _ => None,
            })
            .collect();
        FilterCounts { counting }
    }

    /// Each expectation's index in the plan and the frames its filter selected.
    pub fn counts(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counting.iter().map(|(i, _, n)| (*i, *n))
    }
}

impl FrameSink for FilterCounts<'_> {
    fn push(&mut self, frame: &FrameRef<'_>, packet: &Packet) {
        for (_, matcher, n) in &mut self.counting {
            *n += u64::from(matcher.matches(frame, packet));
        }
    }
}

/// Judges one `filter` expectation (the `filter` row of [`super::EXPECT_CHECKS`]): the
/// frames its capture's pass counted against the count it asks for.
pub(super) fn judge(plan: &Plan, i: usize, expect: &Expect, seen: &super::Seen) -> CheckResult {
    let Expect::Filter {
        text,
        host,
        iface,
        frames,
        ..
    } = expect
    else {
        unreachable!("{}", super::ROUTED)
    };
    let capture = format!("{}:{iface}", plan.hosts[*host].name);
    let name = match frames {
        Count::Exactly(0) => format!("filter {text:?} on {capture}: no frame"),
        Count::Exactly(1) => format!("filter {text:?} on {capture}: 1 frame"),
        n => format!("filter {text:?} on {capture}: {n} frames"),
    };
    let counted = seen
        .filtered
        .iter()
        .flat_map(|c| c.counts())
        .find(|(j, _)| *j == i);
    match counted {
        Some((_, n)) => CheckResult::new(name, frames.holds(n), format!("{n} frames selected")),
        None => CheckResult::new(name, false, "no capture on that interface".into()),
    }
}
