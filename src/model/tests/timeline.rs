//! The bounded timeline: how an evaluation began and what happened last are
//! kept, the middle is dropped and counted, and the storage stays small.

use crate::model::record::{TIMELINE_CAP, TIMELINE_HEAD};
use crate::model::{Happening, Source, Timeline, TimelineEntry, Ts};

fn entry(n: i64) -> TimelineEntry {
    TimelineEntry {
        at: Ts(n),
        source: Source::Redis,
        what: Happening::Note(format!("entry {n}")),
    }
}

fn timeline(len: i64) -> Timeline {
    let mut timeline = Timeline::default();
    for n in 0..len {
        timeline.push(entry(n));
    }
    timeline
}

fn times<'a>(entries: impl Iterator<Item = &'a TimelineEntry>) -> Vec<i64> {
    entries.map(|e| e.at.0).collect()
}

#[test]
fn a_timeline_within_its_bound_keeps_everything_in_order() {
    let timeline = timeline(TIMELINE_CAP as i64);
    assert_eq!(timeline.len(), TIMELINE_CAP);
    assert_eq!(timeline.dropped, 0);
    let all: Vec<i64> = (0..TIMELINE_CAP as i64).collect();
    assert_eq!(times(timeline.iter()), all);
    assert_eq!(times(timeline.head().iter()), all[..TIMELINE_HEAD]);
    assert_eq!(times(timeline.newest()), all[TIMELINE_HEAD..]);
    assert_eq!(
        timeline.last().map(|e| e.at),
        Some(Ts(TIMELINE_CAP as i64 - 1))
    );
}

#[test]
fn a_short_timeline_is_all_head() {
    let timeline = timeline(3);
    assert_eq!(times(timeline.head().iter()), [0, 1, 2]);
    assert_eq!(timeline.newest().count(), 0);
    assert_eq!(timeline.last().map(|e| e.at), Some(Ts(2)));
    assert!(Timeline::default().last().is_none());
    assert!(Timeline::default().is_empty());
}

#[test]
fn past_its_bound_it_keeps_the_head_and_the_newest_and_counts_the_rest() {
    // Every length from just past the bound to several turns of the ring.
    let ring = (TIMELINE_CAP - TIMELINE_HEAD) as i64;
    for len in TIMELINE_CAP as i64 + 1..TIMELINE_CAP as i64 + 3 * ring {
        let timeline = timeline(len);
        assert_eq!(timeline.len(), TIMELINE_CAP, "{len}");
        assert_eq!(timeline.dropped as i64, len - TIMELINE_CAP as i64, "{len}");
        let head: Vec<i64> = (0..TIMELINE_HEAD as i64).collect();
        let newest: Vec<i64> = (len - ring..len).collect();
        assert_eq!(times(timeline.head().iter()), head, "{len}");
        assert_eq!(times(timeline.newest()), newest, "{len}");
        assert_eq!(
            times(timeline.iter()),
            [head, newest].concat(),
            "{len}: arrival order, the gap between the head and the newest"
        );
        assert_eq!(timeline.last().map(|e| e.at), Some(Ts(len - 1)), "{len}");
    }
}

#[test]
fn a_flood_is_counted_and_the_storage_stays_at_its_bound() {
    let timeline = timeline(100_000);
    assert_eq!(timeline.dropped, 100_000 - TIMELINE_CAP as u32);
    assert_eq!(timeline.len(), TIMELINE_CAP);
    assert_eq!(timeline.last().map(|e| e.at), Some(Ts(99_999)));
    assert_eq!(timeline.head()[0].at, Ts(0));
}

#[test]
fn the_storage_grows_in_small_steps_not_by_doubling() {
    // What a record pays for its timeline is its capacity, not its length:
    // a typical life of 13 entries holds 16, never 32.
    for len in 1..=TIMELINE_CAP as i64 {
        let timeline = timeline(len);
        let slack = timeline.entries_capacity() - timeline.len();
        assert!(
            slack < 4,
            "{len} entries hold {}",
            timeline.entries_capacity()
        );
    }
    assert_eq!(timeline(1_000).entries_capacity(), TIMELINE_CAP);
}
