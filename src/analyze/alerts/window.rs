//! Windows on capture time: distinct keys within a sliding span, and groups of events
//! (a sender's requests, a source port's SYNs) counted in such a window.
//!
//! Contract: time is the capture's, never the clock's; a window holds one entry per distinct
//! key it contains, and [`Groups::sweep`] drops the groups that went idle without reaching
//! their threshold, so memory follows the keys in the windows, not the packet count.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use super::Entry;

/// The capture time of a frame from the start of the capture.
#[derive(Clone, Copy, Debug)]
pub struct At {
    /// Frame number.
    pub frame: u64,
    /// Time since the first frame.
    pub ts: Duration,
}

/// Distinct keys seen within a sliding window of capture time. A key is counted from its
/// first sighting and leaves the window `span` later (seen again, it comes back), so memory
/// holds one entry per distinct key in the window, whatever the packet rate.
#[derive(Debug)]
pub struct Window<K> {
    span: Duration,
    order: VecDeque<(Duration, K)>,
    seen: HashMap<K, ()>,
    /// Most distinct keys ever held at once.
    pub peak: usize,
    /// When the window last moved.
    pub last: Duration,
}

impl<K: Copy + Eq + Hash> Window<K> {
    /// An empty window of `span`.
    pub fn new(span: Duration) -> Window<K> {
        Window {
            span,
            order: VecDeque::new(),
            seen: HashMap::new(),
            peak: 0,
            last: Duration::ZERO,
        }
    }

    /// Adds a sighting; returns the distinct keys now in the window.
    pub fn push(&mut self, ts: Duration, key: K) -> usize {
        self.last = ts;
        while let Some((t0, k)) = self.order.front() {
            if ts.saturating_sub(*t0) <= self.span {
                break;
            }
            self.seen.remove(k);
            self.order.pop_front();
        }
        if self.seen.insert(key, ()).is_none() {
            self.order.push_back((ts, key));
        }
        self.peak = self.peak.max(self.seen.len());
        self.seen.len()
    }

    /// The keys in the window.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.order.iter().map(|(_, k)| k)
    }

    /// Whether nothing moved it for longer than its span before `now`.
    pub fn idle(&self, now: Duration) -> bool {
        now.saturating_sub(self.last) > self.span
    }
}

/// A group of events counted in a window (a sender's ARP requests, a source port's SYNs),
/// with the tally of all of them and detector-specific notes `X`.
#[derive(Debug)]
pub struct Group<K, X> {
    /// Distinct keys in the window.
    pub win: Window<K>,
    /// Every event of the group so far.
    pub entry: Entry,
    /// Whether the window ever held the threshold's distinct keys.
    pub flagged: bool,
    /// What the detector notes for its evidence.
    pub notes: X,
}

/// Groups by key, swept of idle unflagged ones now and then so memory stays bounded.
#[derive(Debug)]
pub struct Groups<G, K, X> {
    span: Duration,
    threshold: usize,
    map: HashMap<G, Group<K, X>>,
}

impl<G: Eq + Hash + Copy + Ord, K: Copy + Eq + Hash, X: Default> Groups<G, K, X> {
    /// No groups yet; each window spans `span`, and `threshold` distinct keys flag a group.
    pub fn new(span: Duration, threshold: usize) -> Groups<G, K, X> {
        Groups {
            span,
            threshold,
            map: HashMap::new(),
        }
    }

    /// Counts an event with `key` in `group`; returns the group.
    pub fn push(&mut self, group: G, at: At, key: K) -> &mut Group<K, X> {
        let span = self.span;
        let g = self.map.entry(group).or_insert_with(|| Group {
            win: Window::new(span),
            entry: Entry::new(at),
            flagged: false,
            notes: X::default(),
        });
        let n = g.win.push(at.ts, key);
        g.entry.hit(at.frame, at.ts);
        g.flagged |= n >= self.threshold;
        g
    }

    /// The group `group`, if it has events.
    pub fn get_mut(&mut self, group: &G) -> Option<&mut Group<K, X>> {
        self.map.get_mut(group)
    }

    /// Drops unflagged groups idle at `now`.
    pub fn sweep(&mut self, now: Duration) {
        self.map.retain(|_, g| g.flagged || !g.win.idle(now));
    }

    /// The flagged groups, in key order.
    pub fn flagged(self) -> Vec<(G, Group<K, X>)> {
        let mut v: Vec<_> = self.map.into_iter().filter(|(_, g)| g.flagged).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}
