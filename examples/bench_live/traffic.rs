//! Streams of messages for the publisher: completed lives (each the four
//! status messages of one evaluation, optionally with live log lines) and
//! the log lines and heartbeats of a pool of running evaluations (traffic
//! that does not add evaluations). Also a stream prepared in memory
//! beforehand, for floods faster than the driver could encode.

use crate::payloads::{self, Ids, LogKind};

/// A source of PUBLISH commands.
pub trait Messages: Send {
    /// Appends the next command to `out`; false when there is none left.
    fn write_next(&mut self, out: &mut Vec<u8>) -> bool;
}

/// `count` completed lives: submitted, queued, running, then `logs` log
/// lines (the last one final), then completed.
pub struct Lives {
    ids: Ids,
    executor: String,
    left: u64,
    logs: u64,
    current: String,
    /// Position within the current life; 0: no life begun.
    step: u64,
    at: String,
}

impl Lives {
    pub fn new(ids: Ids, executor: &str, count: u64, logs: u64) -> Lives {
        Lives {
            ids,
            executor: executor.to_string(),
            left: count,
            logs,
            current: String::new(),
            step: 0,
            at: payloads::now_iso(),
        }
    }

    /// Messages per life.
    pub fn per_life(logs: u64) -> u64 {
        4 + logs
    }
}

impl Messages for Lives {
    fn write_next(&mut self, out: &mut Vec<u8>) -> bool {
        if self.step == 0 {
            if self.left == 0 {
                return false;
            }
            self.left -= 1;
            self.current = self.ids.next_id();
            // One timestamp per life is close enough, and cheap.
            self.at = payloads::now_iso();
        }
        let id = &self.current;
        let step = self.step;
        let (channel, payload) = match step {
            0 => payloads::submission("submitted", id, &self.at),
            1 => payloads::submission("queued", id, &self.at),
            2 => payloads::running(id, &self.executor, &container_of(id), 30),
            s if s < 3 + self.logs => {
                let kind = if s + 1 == 3 + self.logs {
                    LogKind::Final
                } else {
                    LogKind::Line
                };
                payloads::log(id, &self.executor, s - 2, kind, &self.at)
            }
            _ => payloads::completed(id, &self.executor, &self.at),
        };
        payloads::publish(out, &channel, &payload);
        self.step = if step + 1 == Lives::per_life(self.logs) {
            0
        } else {
            step + 1
        };
        true
    }
}

/// A container id for a life whose container has come and gone: 12 hex
/// digits derived from the eval id's counter.
fn container_of(eval_id: &str) -> String {
    let tail = eval_id.rsplit('_').next().unwrap_or("0");
    format!("c0ffee{:0>6}", &tail[tail.len().saturating_sub(6)..])
}

/// Log lines, round robin over a pool of running evaluations, every
/// `heartbeat_every`-th one a heartbeat; endless.
pub struct PoolLogs {
    pool: Vec<String>,
    executor: String,
    sequences: Vec<u64>,
    next: usize,
    sent: u64,
    heartbeat_every: u64,
}

impl PoolLogs {
    pub fn new(pool: &[String], executor: &str) -> PoolLogs {
        PoolLogs {
            pool: pool.to_vec(),
            executor: executor.to_string(),
            sequences: vec![0; pool.len()],
            next: 0,
            sent: 0,
            heartbeat_every: 10,
        }
    }
}

impl Messages for PoolLogs {
    fn write_next(&mut self, out: &mut Vec<u8>) -> bool {
        if self.pool.is_empty() {
            return false;
        }
        let i = self.next;
        self.next = (self.next + 1) % self.pool.len();
        self.sequences[i] += 1;
        self.sent += 1;
        let kind = if self.sent.is_multiple_of(self.heartbeat_every) {
            LogKind::Heartbeat
        } else {
            LogKind::Line
        };
        let at = payloads::now_iso();
        let (channel, payload) =
            payloads::log(&self.pool[i], &self.executor, self.sequences[i], kind, &at);
        payloads::publish(out, &channel, &payload);
        true
    }
}

/// Given messages, as (channel, payload).
pub struct Listed(pub std::vec::IntoIter<(String, String)>);

impl Messages for Listed {
    fn write_next(&mut self, out: &mut Vec<u8>) -> bool {
        match self.0.next() {
            Some((channel, payload)) => {
                payloads::publish(out, &channel, &payload);
                true
            }
            None => false,
        }
    }
}

/// Commands encoded beforehand: one buffer and where each command ends.
pub struct Prepared {
    pub bytes: Vec<u8>,
    ends: Vec<usize>,
    next: usize,
}

impl Prepared {
    /// Encodes every command `messages` yields, up to `limit`.
    pub fn from(mut messages: impl Messages, limit: u64) -> Prepared {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        while (ends.len() as u64) < limit && messages.write_next(&mut bytes) {
            ends.push(bytes.len());
        }
        Prepared {
            bytes,
            ends,
            next: 0,
        }
    }

    pub fn len(&self) -> u64 {
        self.ends.len() as u64
    }
}

impl Messages for Prepared {
    fn write_next(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(&end) = self.ends.get(self.next) else {
            return false;
        };
        let start = if self.next == 0 {
            0
        } else {
            self.ends[self.next - 1]
        };
        out.extend_from_slice(&self.bytes[start..end]);
        self.next += 1;
        true
    }
}
