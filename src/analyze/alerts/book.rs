//! The alerts being built: an [`Entry`] per `(id, src, dst)` in a [`Book`], with its
//! severity (only ever raised), first and last time, count, first frames and evidence.
//!
//! Contract: books of several interfaces merge into one by key; a merged entry keeps the
//! higher severity, the wider time span, the summed count, the first frames in order and the
//! evidence of the larger part.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{At, MAX_FRAMES, Party, Severity};

/// Where an alert accumulates: counts, times, frames and the detector's notes.
#[derive(Clone, Debug)]
pub struct Entry {
    pub severity: Severity,
    pub first: Duration,
    pub last: Duration,
    pub count: u64,
    pub frames: Vec<u64>,
    /// Set by the detector when it writes the evidence.
    pub evidence: String,
}

impl Entry {
    /// An entry with no hit yet, at `at`.
    pub fn new(at: At) -> Entry {
        Entry {
            severity: Severity::Info,
            first: at.ts,
            last: at.ts,
            count: 0,
            frames: Vec::new(),
            evidence: String::new(),
        }
    }

    /// Counts one frame.
    pub fn hit(&mut self, frame: u64, ts: Duration) {
        self.count += 1;
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        if self.frames.len() < MAX_FRAMES {
            self.frames.push(frame);
        }
    }
}

/// The alerts so far, by `(id, src, dst)`.
#[derive(Debug, Default)]
pub struct Book {
    pub(super) entries: BTreeMap<(&'static str, Party, Party), Entry>,
}

impl Book {
    /// Counts one frame towards an alert, raising its severity to `severity` at least.
    pub fn hit(
        &mut self,
        id: &'static str,
        severity: Severity,
        (src, dst): (Party, Party),
        at: At,
    ) -> &mut Entry {
        let (frame, ts) = (at.frame, at.ts);
        let e = self.entries.entry((id, src, dst)).or_insert(Entry {
            severity,
            first: ts,
            last: ts,
            count: 0,
            frames: Vec::new(),
            evidence: String::new(),
        });
        e.severity = e.severity.max(severity);
        e.hit(frame, ts);
        e
    }

    /// Adds a whole entry (from a [`Groups`](super::Groups) entry) under `(id, src, dst)`.
    pub fn put(&mut self, id: &'static str, src: Party, dst: Party, entry: Entry) {
        let mut one = Book::default();
        one.entries.insert((id, src, dst), entry);
        self.merge(one);
    }

    /// The entry of an alert, if it was hit.
    pub fn get_mut(&mut self, id: &'static str, src: Party, dst: Party) -> Option<&mut Entry> {
        self.entries.get_mut(&(id, src, dst))
    }

    /// Whether an alert with this id was hit from `src` to `dst`.
    pub fn has(&self, id: &'static str, src: Party, dst: Party) -> bool {
        self.entries.contains_key(&(id, src, dst))
    }

    /// Every entry of one id.
    pub fn of(&mut self, id: &'static str) -> impl Iterator<Item = (Party, Party, &mut Entry)> {
        self.entries
            .iter_mut()
            .filter(move |((i, _, _), _)| *i == id)
            .map(|((_, s, d), e)| (*s, *d, e))
    }

    pub(super) fn merge(&mut self, other: Book) {
        for (key, e) in other.entries {
            match self.entries.get_mut(&key) {
                None => {
                    self.entries.insert(key, e);
                }
                Some(mine) => {
                    if e.count > mine.count {
                        mine.evidence = e.evidence;
                    }
                    mine.severity = mine.severity.max(e.severity);
                    mine.first = mine.first.min(e.first);
                    mine.last = mine.last.max(e.last);
                    mine.count += e.count;
                    mine.frames.extend(e.frames);
                    mine.frames.sort_unstable();
                    mine.frames.dedup();
                    mine.frames.truncate(MAX_FRAMES);
                }
            }
        }
    }
}
