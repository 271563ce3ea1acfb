//! The pipelined half of a key read: values and TTLs asked for a batch of
//! keys at a time, a few batches in flight, and the counts of what has been
//! read, reported as it goes.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::{StreamExt, TryStreamExt};
use redis::Value;
use redis::aio::ConnectionLike;

use super::RedisError;
use super::keys::read_error;
use crate::model::ReadProgress;

/// Keys read per pipeline: big enough that 100,000 keys take a hundred
/// round trips, small enough that one reply stays a few hundred KB.
const BATCH: usize = 1000;
/// Pipelines of one kind of key in flight at once: the server answers the
/// next while evaltop decodes the last, and at most a few MB of replies
/// wait at a time.
const PIPELINES_IN_FLIGHT: usize = 4;

/// Where a read says how far it has come.
pub type Report<'a> = &'a (dyn Fn(ReadProgress) + Sync);

/// The counts behind the reports, shared by the reads that run at once.
pub(super) struct Progress<'a> {
    report: Report<'a>,
    found: AtomicU64,
    total: AtomicU64,
    read: AtomicU64,
}

impl<'a> Progress<'a> {
    pub(super) fn new(report: Report<'a>) -> Self {
        Progress {
            report,
            found: AtomicU64::new(0),
            total: AtomicU64::new(0),
            read: AtomicU64::new(0),
        }
    }

    /// A SCAN step returned `keys` not seen before.
    pub(super) fn found(&self, keys: usize) {
        let found = self.found.fetch_add(count(keys), Ordering::Relaxed) + count(keys);
        (self.report)(ReadProgress::Scanning { found });
    }

    /// The scans are done: `keys` distinct keys are to be read.
    pub(super) fn scanned(&self, keys: usize) {
        self.total.store(count(keys), Ordering::Relaxed);
        (self.report)(ReadProgress::Reading {
            read: 0,
            total: count(keys),
        });
    }

    /// A pipeline answered for `keys` keys.
    fn read(&self, keys: usize) {
        let read = self.read.fetch_add(count(keys), Ordering::Relaxed) + count(keys);
        let total = self.total.load(Ordering::Relaxed);
        (self.report)(ReadProgress::Reading { read, total });
    }
}

fn count(keys: usize) -> u64 {
    u64::try_from(keys).unwrap_or(u64::MAX)
}

/// The replies of `first`/`second` for every key, a batch at a time with a
/// few batches in flight, in the keys' order; each answered batch counts
/// as read.
pub(super) async fn read_in_batches<C>(
    conn: &C,
    keys: &[(String, Vec<u8>)],
    commands: (&str, &str),
    progress: &Progress<'_>,
) -> Result<Vec<(Reply, Reply)>, RedisError>
where
    C: ConnectionLike + Clone + Send,
{
    // The futures are made by a plain loop, not a closure in the stream:
    // a closure that borrows `progress` makes the future lose `Send`
    // (rustc's higher-ranked lifetime limitation).
    let mut reads = Vec::with_capacity(keys.len().div_ceil(BATCH));
    for batch in keys.chunks(BATCH) {
        reads.push(read_batch(conn.clone(), batch, commands, progress));
    }
    let batches: Vec<Vec<(Reply, Reply)>> = futures::stream::iter(reads)
        .buffered(PIPELINES_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(batches.into_iter().flatten().collect())
}

async fn read_batch(
    mut conn: impl ConnectionLike,
    batch: &[(String, Vec<u8>)],
    (first, second): (&str, &str),
    progress: &Progress<'_>,
) -> Result<Vec<(Reply, Reply)>, RedisError> {
    let replies = pipelined(&mut conn, batch, first, second).await?;
    progress.read(batch.len());
    Ok(replies)
}

pub(super) type Reply = redis::RedisResult<Value>;

/// Sends `first key` and `second key` for every key in one pipeline and
/// returns the two replies per key. Per-key server errors (WRONGTYPE) come
/// back as `Err` items; only a failed round trip fails the whole call.
async fn pipelined(
    conn: &mut impl ConnectionLike,
    batch: &[(String, Vec<u8>)],
    first: &str,
    second: &str,
) -> Result<Vec<(Reply, Reply)>, RedisError> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for (_, key) in batch {
        pipe.cmd(first).arg(key).cmd(second).arg(key);
    }
    let replies: Vec<Reply> = pipe.query_async(conn).await.map_err(|source| {
        read_error(format!("{first}/{second} of {} keys", batch.len()), source)
    })?;
    if replies.len() != batch.len() * 2 {
        return Err(RedisError::Protocol(format!(
            "{first}/{second} pipeline of {} keys answered {} replies",
            batch.len(),
            replies.len()
        )));
    }
    let mut replies = replies.into_iter();
    let mut pairs = Vec::with_capacity(batch.len());
    while let (Some(a), Some(b)) = (replies.next(), replies.next()) {
        pairs.push((a, b));
    }
    Ok(pairs)
}
