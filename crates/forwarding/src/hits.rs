//! Policy and NAT rule hit counts that outlive a commit.
//!
//! The worker counts hits by index into the security tables in force; a commit replaces the
//! tables (and the worker starts again from zero), so the control plane folds what the old
//! tables counted into a base kept by rule name. `clear security policies hit-count`
//! empties the base and remembers what the live tables had counted, to subtract it.

use std::collections::HashMap;

use savin_security::SecurityTables;
use savin_security::{Hits, HitsOf};

use crate::control::Control;

/// What a hit count is for: policies, or source/destination/static NAT rules.
pub(crate) const POLICY: usize = 0;
pub(crate) const fn nat(kind: usize) -> usize {
    kind + 1
}
pub(crate) const SCREEN: usize = 4;
const KINDS: usize = 5;

#[derive(Default)]
pub(crate) struct HitBase {
    by_name: HashMap<(usize, String), u64>,
    /// The live tables' counts at the last clear, per kind.
    cleared: Option<HitsOf>,
}

fn counts(h: &Hits, kind: usize) -> &[u64] {
    match kind {
        POLICY => &h.policy,
        SCREEN => &h.screen,
        _ => &h.nat[kind - 1],
    }
}

fn counts_mut(h: &mut Hits, kind: usize) -> &mut Vec<u64> {
    match kind {
        POLICY => &mut h.policy,
        SCREEN => &mut h.screen,
        _ => &mut h.nat[kind - 1],
    }
}

/// The names the counts of `kind` are kept under, by index.
fn names(t: &SecurityTables, kind: usize) -> Vec<String> {
    if kind == POLICY {
        let mut v: Vec<String> = t
            .policy
            .policies
            .iter()
            .map(|p| format!("{}>{}>{}>{}", p.from_zone, p.to_zone, p.name, p.global))
            .collect();
        v.push("default-policy".into());
        return v;
    }
    if kind == SCREEN {
        return t
            .policy
            .zones
            .iter()
            .flat_map(|z| {
                savin_security::stage::screen::Attack::ALL
                    .iter()
                    .map(move |a| format!("{z}/{}", a.key()))
            })
            .collect();
    }
    let rules = match kind - 1 {
        0 => &t.nat.source,
        1 => &t.nat.destination,
        _ => &t.nat.statics,
    };
    rules
        .iter()
        .map(|r| format!("{}/{}", r.rule_set, r.name))
        .collect()
}

impl Control {
    /// The worker's counts, if they are for the tables in force now.
    fn live_hits(&self) -> Option<HitsOf> {
        let current = self.security.load_full()?;
        let stats = self.stats.lock().ok()?;
        stats
            .feature
            .1
             .1
            .hits
            .as_ref()
            .filter(|h| std::sync::Arc::ptr_eq(&h.0, &current))
            .cloned()
    }

    fn cleared(&self, live: &HitsOf, kind: usize, i: usize) -> u64 {
        self.hit_base
            .cleared
            .as_ref()
            .filter(|c| std::sync::Arc::ptr_eq(&c.0, &live.0))
            .and_then(|c| counts(&c.1, kind).get(i).copied())
            .unwrap_or(0)
    }

    /// Folds the live counts into the base by name (before the tables are replaced).
    pub(crate) fn fold_hits(&mut self) {
        if let Some(live) = self.live_hits() {
            for kind in 0..KINDS {
                for (i, name) in names(&live.0, kind).into_iter().enumerate() {
                    let n = counts(&live.1, kind).get(i).copied().unwrap_or(0);
                    let n = n.saturating_sub(self.cleared(&live, kind, i));
                    *self.hit_base.by_name.entry((kind, name)).or_default() += n;
                }
            }
        }
        self.hit_base.cleared = None;
    }

    /// The hit counts of `kind`, by index into the tables in force.
    pub(crate) fn hit_counts(&self, kind: usize) -> Vec<u64> {
        let Some(t) = self.security.load_full() else {
            return Vec::new();
        };
        let live = self.live_hits();
        names(&t, kind)
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let base = self
                    .hit_base
                    .by_name
                    .get(&(kind, name))
                    .copied()
                    .unwrap_or(0);
                let now = live.as_ref().map_or(0, |l| {
                    counts(&l.1, kind)
                        .get(i)
                        .copied()
                        .unwrap_or(0)
                        .saturating_sub(self.cleared(l, kind, i))
                });
                base + now
            })
            .collect()
    }

    /// Zeroes the counts of `kind` (`clear security policies hit-count`).
    pub(crate) fn clear_hits(&mut self, kind: usize) {
        self.hit_base.by_name.retain(|(k, _), _| *k != kind);
        let Some(live) = self.live_hits() else {
            return;
        };
        let mut snap = match self.hit_base.cleared.take() {
            Some(c) if std::sync::Arc::ptr_eq(&c.0, &live.0) => c,
            _ => HitsOf(live.0.clone(), Hits::default()),
        };
        *counts_mut(&mut snap.1, kind) = counts(&live.1, kind).to_vec();
        self.hit_base.cleared = Some(snap);
    }
}
