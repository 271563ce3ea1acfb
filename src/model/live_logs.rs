//! What evaltop saw live on `evaluation:{id}:logs`, kept in a bounded
//! buffer per evaluation so that the logs outlive the container (which the
//! executor removes within moments). Bounded twice: per evaluation and in
//! all, evicting the oldest first in each case. Pure: no IO, no clock.
//!
//! The bounds are of memory held, not only of text: each message is charged
//! its content plus `MESSAGE_OVERHEAD`, what keeping it costs beside. Counting
//! content alone, a flood of 8-byte messages held 19 times the total bound.
//!
//! Content arrives already sanitised (`protocol::decode`); it is stored as
//! it came. Heartbeats are counted, not stored: they hold no output.

use std::collections::VecDeque;

use hashbrown::hash_map::EntryRef;

use super::observation::{EvalId, IdMap};
use super::time::Ts;

/// Bytes kept per evaluation, by default.
pub const DEFAULT_PER_EVAL_BYTES: usize = 256 * 1024;
/// Bytes kept in all, by default.
pub const DEFAULT_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// What a message costs beside its content, charged against both bounds:
/// its chunk, its entry in the arrival order and the allocator's header of
/// its text (the queues' spare capacity aside).
pub const MESSAGE_OVERHEAD: usize =
    size_of::<LiveChunk>() + size_of::<(u64, EvalId)>() + MALLOC_HEADER;

/// The allocator's bookkeeping per block (glibc: 8-16 bytes).
const MALLOC_HEADER: usize = 16;

/// What keeping a message of `content_len` bytes is charged.
fn charge(content_len: usize) -> usize {
    content_len + MESSAGE_OVERHEAD
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveLogLimits {
    pub per_eval_bytes: usize,
    pub total_bytes: usize,
}

impl Default for LiveLogLimits {
    fn default() -> Self {
        LiveLogLimits {
            per_eval_bytes: DEFAULT_PER_EVAL_BYTES,
            total_bytes: DEFAULT_TOTAL_BYTES,
        }
    }
}

/// One log message as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveChunk {
    pub at: Ts,
    pub content: String,
    /// Global arrival order, for eviction across evaluations.
    seq: u64,
}

/// The live log of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveLog {
    chunks: VecDeque<LiveChunk>,
    bytes: usize,
    /// Bytes charged against the bounds: `bytes` plus the overhead of each
    /// message.
    held: usize,
    /// Bytes dropped from the head (by either bound): what is kept does
    /// not start where the evaluation's output started.
    pub evicted_bytes: u64,
    pub heartbeats: u32,
    pub last_heartbeat: Option<Ts>,
    pub last_at: Option<Ts>,
}

impl LiveLog {
    /// The messages kept, oldest first.
    pub fn chunks(&self) -> impl Iterator<Item = &LiveChunk> {
        self.chunks.iter()
    }

    /// The text kept, as one string.
    pub fn text(&self) -> String {
        self.chunks.iter().map(|c| c.content.as_str()).collect()
    }

    /// The lines of the text kept.
    pub fn lines(&self) -> Vec<&str> {
        self.chunks.iter().flat_map(|c| c.content.lines()).collect()
    }

    /// Bytes of content kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes charged against the bounds for what is kept.
    pub fn held(&self) -> usize {
        self.held
    }

    /// The head was evicted: an older part of the output is gone.
    pub fn head_evicted(&self) -> bool {
        self.evicted_bytes > 0
    }

    fn pop_front(&mut self) -> Option<LiveChunk> {
        let chunk = self.chunks.pop_front()?;
        self.bytes -= chunk.content.len();
        self.held -= charge(chunk.content.len());
        self.evicted_bytes += chunk.content.len() as u64;
        Some(chunk)
    }
}

/// Every evaluation's live log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveLogs {
    limits: LiveLogLimits,
    logs: IdMap<LiveLog>,
    /// Arrival order of every chunk (seq, eval): the oldest is evicted
    /// first when the total bound is passed. Entries of chunks already
    /// evicted by their evaluation's bound are skipped, and compacted away
    /// once they outnumber the live ones.
    order: VecDeque<(u64, EvalId)>,
    next_seq: u64,
    /// Bytes charged in all (content and overhead).
    total: usize,
    chunk_count: usize,
}

impl LiveLogs {
    pub fn new(limits: LiveLogLimits) -> Self {
        LiveLogs {
            limits,
            ..LiveLogs::default()
        }
    }

    pub fn limits(&self) -> LiveLogLimits {
        self.limits
    }

    /// Bytes charged in all against the total bound: content plus each
    /// message's overhead.
    pub fn total_bytes(&self) -> usize {
        self.total
    }

    pub fn get(&self, eval_id: &str) -> Option<&LiveLog> {
        self.logs.get(eval_id)
    }

    /// Forgets an evaluation (when the state forgets its record).
    pub fn remove(&mut self, eval_id: &str) -> Option<LiveLog> {
        let log = self.logs.remove(eval_id)?;
        self.total -= log.held;
        self.chunk_count -= log.chunks.len();
        Some(log)
    }

    /// Records one message of `eval_id` received at `at`. An owned
    /// `content` is kept without a copy (its spare capacity trimmed, so
    /// that the bounds count what is held).
    pub fn push(&mut self, eval_id: &str, at: Ts, content: impl Into<String>, is_heartbeat: bool) {
        let entry = match self.logs.entry_ref(eval_id) {
            EntryRef::Occupied(entry) => entry,
            EntryRef::Vacant(entry) => {
                entry.insert_entry_with_key(EvalId::from(eval_id), LiveLog::default())
            }
        };
        let id = entry.key().clone();
        let log = entry.into_mut();
        // Room for content in one evaluation's bound, beside one
        // message's overhead.
        let room = self.limits.per_eval_bytes.saturating_sub(MESSAGE_OVERHEAD);
        log.last_at = Some(log.last_at.map_or(at, |last| last.max(at)));
        if is_heartbeat {
            log.heartbeats += 1;
            log.last_heartbeat = Some(at);
            return;
        }
        let mut content: String = content.into();
        if content.is_empty() {
            return;
        }
        // A message larger than the whole bound keeps its tail.
        if content.len() > room {
            let mut cut = content.len() - room;
            while !content.is_char_boundary(cut) {
                cut += 1;
            }
            log.evicted_bytes += cut as u64;
            content.drain(..cut);
            if content.is_empty() {
                return;
            }
        }
        content.shrink_to_fit();
        let cost = charge(content.len());
        while log.held + cost > self.limits.per_eval_bytes {
            match log.pop_front() {
                Some(chunk) => {
                    self.total -= charge(chunk.content.len());
                    self.chunk_count -= 1;
                }
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        log.bytes += content.len();
        log.held += cost;
        log.chunks.push_back(LiveChunk { at, content, seq });
        self.total += cost;
        self.chunk_count += 1;
        self.order.push_back((seq, id));
        self.evict_globally();
        self.compact_order();
    }

    /// Evicts the oldest chunks, whichever evaluation they belong to, until
    /// the total bound holds.
    fn evict_globally(&mut self) {
        while self.total > self.limits.total_bytes {
            let Some((seq, id)) = self.order.pop_front() else {
                break;
            };
            let Some(log) = self.logs.get_mut(&id) else {
                continue;
            };
            if log.chunks.front().is_some_and(|c| c.seq == seq)
                && let Some(chunk) = log.pop_front()
            {
                self.total -= charge(chunk.content.len());
                self.chunk_count -= 1;
                // An evaluation whose messages others' flood took keeps no
                // room for them: the bounds do not charge spare capacity.
                if log.chunks.len() * 4 <= log.chunks.capacity() {
                    log.chunks.shrink_to(log.chunks.len() * 2);
                }
            }
        }
    }

    /// Drops order entries of chunks already gone, once they are the
    /// majority: keeps `order` within twice the live chunks, amortised.
    fn compact_order(&mut self) {
        if self.order.len() <= 2 * self.chunk_count + 64 {
            return;
        }
        let logs = &self.logs;
        // Entries of one evaluation come in runs (a chatty one is what
        // fills the queue): its log is looked up once per run, not per entry.
        let mut last: Option<(EvalId, Option<u64>)> = None;
        self.order.retain(|(seq, id)| {
            let front = match &last {
                Some((prev, front)) if std::sync::Arc::ptr_eq(prev, id) => *front,
                _ => {
                    let front = logs
                        .get(id)
                        .and_then(|log| log.chunks.front().map(|chunk| chunk.seq));
                    last = Some((id.clone(), front));
                    front
                }
            };
            front.is_some_and(|front| front <= *seq)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Charged for a message of `len` bytes.
    const fn cost(len: usize) -> usize {
        len + MESSAGE_OVERHEAD
    }

    fn limits(per_eval_bytes: usize, total_bytes: usize) -> LiveLogs {
        LiveLogs::new(LiveLogLimits {
            per_eval_bytes,
            total_bytes,
        })
    }

    #[test]
    fn keeps_messages_in_order_and_counts_heartbeats_apart() {
        let mut logs = LiveLogs::default();
        logs.push("a", Ts(1), "Before error\n", false);
        logs.push("a", Ts(2), "", true);
        logs.push("a", Ts(3), "Traceback\nZeroDivisionError\n", false);
        let log = logs.get("a").unwrap();
        assert_eq!(
            log.lines(),
            ["Before error", "Traceback", "ZeroDivisionError"]
        );
        assert_eq!(log.bytes(), 41);
        assert_eq!(
            log.held(),
            41 + 2 * MESSAGE_OVERHEAD,
            "two messages charged"
        );
        assert_eq!(log.heartbeats, 1);
        assert_eq!(log.last_heartbeat, Some(Ts(2)));
        assert_eq!(log.last_at, Some(Ts(3)));
        assert!(!log.head_evicted());
        assert_eq!(logs.total_bytes(), log.held());
        assert!(logs.get("b").is_none());
    }

    #[test]
    fn the_per_evaluation_bound_evicts_its_oldest_first() {
        let mut logs = limits(2 * cost(5), 1000);
        logs.push("a", Ts(1), "1111\n", false);
        logs.push("a", Ts(2), "2222\n", false);
        logs.push("a", Ts(3), "3333\n", false);
        let log = logs.get("a").unwrap();
        assert_eq!(log.text(), "2222\n3333\n");
        assert!(log.head_evicted());
        assert_eq!(log.evicted_bytes, 5);
        assert_eq!(log.bytes(), 10);
        assert_eq!(logs.total_bytes(), 2 * cost(5));
    }

    #[test]
    fn a_message_larger_than_the_bound_keeps_its_tail_on_a_char_boundary() {
        let mut logs = limits(cost(16), 1000);
        logs.push("a", Ts(1), "old\n", false);
        let big = format!("{}é-end", "x".repeat(20));
        logs.push("a", Ts(2), &big, false);
        let log = logs.get("a").unwrap();
        assert!(log.bytes() <= 16);
        assert!(log.held() <= cost(16));
        assert!(log.text().ends_with("é-end"), "{}", log.text());
        assert!(log.head_evicted());
        assert_eq!(logs.total_bytes(), log.held());
    }

    #[test]
    fn an_owned_message_is_kept_without_its_spare_capacity() {
        // The bounds count bytes of content: what is held must be no more.
        let mut logs = limits(cost(100), cost(100));
        let mut owned = String::with_capacity(4096);
        owned.push_str("line\n");
        logs.push("a", Ts(1), owned, false);
        let chunk = logs.get("a").unwrap().chunks().next().unwrap();
        assert_eq!(chunk.content, "line\n");
        assert!(
            chunk.content.capacity() < 64,
            "{}",
            chunk.content.capacity()
        );
    }

    #[test]
    fn the_total_bound_evicts_the_oldest_across_evaluations() {
        // Room for three messages of 6 bytes in all.
        let mut logs = limits(cost(100), 3 * cost(6));
        logs.push("a", Ts(1), "a1a1a\n", false); // 1
        logs.push("b", Ts(2), "b1b1b\n", false); // 2
        logs.push("a", Ts(3), "a2a2a\n", false); // 3
        logs.push("c", Ts(4), "c1c1c\n", false); // 4: a1 goes
        assert_eq!(logs.get("a").unwrap().text(), "a2a2a\n");
        assert!(logs.get("a").unwrap().head_evicted());
        assert_eq!(logs.get("b").unwrap().text(), "b1b1b\n");
        logs.push("c", Ts(5), "c2c2c\n", false); // b1 goes
        assert_eq!(logs.get("b").unwrap().text(), "");
        assert!(logs.get("b").unwrap().head_evicted());
        assert_eq!(logs.get("c").unwrap().text(), "c1c1c\nc2c2c\n");
        assert_eq!(logs.total_bytes(), 3 * cost(6));
    }

    #[test]
    fn stays_bounded_under_a_long_stream() {
        let mut logs = limits(1024, 8 * 1024);
        for i in 0..20_000u32 {
            let id = format!("e{}", i % 37);
            logs.push(&id, Ts(i64::from(i)), format!("line {i}\n"), false);
            assert!(logs.total_bytes() <= 8 * 1024);
        }
        for i in 0..37 {
            assert!(logs.get(&format!("e{i}")).unwrap().held() <= 1024);
        }
        let kept: usize = (0..37)
            .map(|i| logs.get(&format!("e{i}")).unwrap().held())
            .sum();
        assert_eq!(kept, logs.total_bytes());
        assert!(
            logs.order.len() <= 2 * logs.chunk_count + 64,
            "the order queue is compacted: {}",
            logs.order.len()
        );
        // One chatty evaluation under a loose total bound: per-eval
        // evictions alone must not grow the order queue without end.
        let mut chatty = limits(5 * cost(11) + 10, usize::MAX);
        for i in 0..10_000 {
            chatty.push("x", Ts(i), "0123456789\n", false);
        }
        assert!(chatty.order.len() <= 2 * chatty.chunk_count + 64);
        assert_eq!(chatty.get("x").unwrap().bytes(), 55);
    }

    #[test]
    fn removing_an_evaluation_frees_its_bytes() {
        let mut logs = limits(2 * cost(100), cost(100) + cost(5));
        logs.push("a", Ts(1), "aaaa\n", false);
        logs.push("b", Ts(2), "bbbb\n", false);
        assert_eq!(logs.remove("a").unwrap().text(), "aaaa\n");
        assert_eq!(logs.total_bytes(), cost(5));
        // Its stale order entry is skipped, not mistaken for b's chunk.
        logs.push("c", Ts(3), "c".repeat(100), false);
        assert_eq!(logs.get("b").unwrap().text(), "bbbb\n");
        logs.push("c", Ts(4), "c", false);
        assert_eq!(logs.get("b").unwrap().text(), "");
        assert!(logs.total_bytes() <= cost(100) + cost(5));
    }

    #[test]
    fn a_flood_of_tiny_messages_is_bounded_by_what_each_costs() {
        // Counting content alone, 8-byte messages could number total / 8.
        let total = 64 * 1024;
        let mut logs = limits(8 * 1024, total);
        for i in 0..50_000 {
            logs.push(&format!("e{}", i % 100), Ts(i), "1234567\n", false);
        }
        assert!(logs.total_bytes() <= total);
        assert_eq!(logs.chunk_count, total / cost(8));
        let content: usize = (0..100)
            .map(|i| logs.get(&format!("e{i}")).unwrap().bytes())
            .sum();
        assert_eq!(content, 8 * logs.chunk_count);
    }

    #[test]
    fn a_bound_smaller_than_one_message_keeps_nothing() {
        let mut logs = limits(MESSAGE_OVERHEAD, 1000);
        logs.push("a", Ts(1), "text\n", false);
        let log = logs.get("a").unwrap();
        assert_eq!(log.bytes(), 0);
        assert_eq!(log.evicted_bytes, 5);
        assert_eq!(logs.total_bytes(), 0);
    }

    #[test]
    fn an_evaluation_emptied_by_the_total_bound_gives_its_room_back() {
        let mut logs = limits(64 * 1024, 40 * cost(5));
        for i in 0..32 {
            logs.push("old", Ts(i), "oooo\n", false);
        }
        let before = logs.get("old").unwrap().chunks.capacity();
        assert!(before >= 32);
        for i in 0..40 {
            logs.push("new", Ts(100 + i), "nnnn\n", false);
        }
        let old = logs.get("old").unwrap();
        assert_eq!(old.bytes(), 0);
        assert!(old.head_evicted());
        assert_eq!(old.chunks.capacity(), 0, "was {before}");
    }
}
