//! One full read of the Redis keys evaltop watches (the running set, the
//! running, pending and latest-log keys), by SCAN and pipelined reads, so
//! that it stays fast with 100,000 keys and never blocks the server (no
//! KEYS).

use std::collections::HashSet;

use redis::Value;
use redis::aio::ConnectionLike;

use super::RedisError;
pub use super::batches::Report;
use super::batches::{Progress, Reply, read_in_batches};
pub(crate) use super::running_value::decode_running;
use crate::model::{LatestLogKey, RedisSnapshot, Rejection, RunningKey, Source};
use crate::names::Names;
use crate::sanitize::{clean_id, clean_line};

/// Keys asked for per SCAN step: a hint to the server, which may return
/// more or fewer. Large, so that 10,000 keys take a round trip or two
/// rather than ten; one step still walks only this many slots of the
/// server's table, a millisecond or so of its time.
const SCAN_COUNT: usize = 10_000;
/// One full read of the keys. Keys that vanish between SCAN and GET are
/// simply absent; values that cannot be used come back as rejections (the
/// key itself still counts where it proves something).
pub async fn read_keys<C>(
    conn: &mut C,
    names: &Names,
) -> Result<(RedisSnapshot, Vec<Rejection>), RedisError>
where
    C: ConnectionLike + Clone + Send,
{
    read_keys_reporting(conn, names, &|_| {}).await
}

/// `read_keys`, saying how far it has come through `report`: the keys
/// found while scanning, then the keys read of those found. The running
/// set and the three scans run at once, then the three kinds of values,
/// each in a few pipelines at once, all on clones of one multiplexed
/// connection.
pub async fn read_keys_reporting<C>(
    conn: &C,
    names: &Names,
    report: Report<'_>,
) -> Result<(RedisSnapshot, Vec<Rejection>), RedisError>
where
    C: ConnectionLike + Clone + Send,
{
    let progress = Progress::new(report);
    let (running_set, running_ids, pending_ids, latest_ids) = futures::try_join!(
        read_running_set(conn.clone(), names),
        scan_ids(conn.clone(), &names.running_key, &progress),
        scan_ids(conn.clone(), &names.pending_key, &progress),
        scan_ids(conn.clone(), &names.latest_log_key, &progress),
    )?;
    progress.scanned(running_ids.len() + pending_ids.len() + latest_ids.len());
    let (running_keys, pending, latest_logs) = futures::try_join!(
        read_running_keys(conn, &running_ids, &progress),
        read_pending(conn, &pending_ids, &progress),
        read_latest_logs(conn, &latest_ids, &progress),
    )?;
    let (running_set, mut rejections) = running_set;
    let (running_keys, rejected) = running_keys;
    rejections.extend(rejected);
    let (pending, rejected) = pending;
    rejections.extend(rejected);
    let (latest_logs, rejected) = latest_logs;
    rejections.extend(rejected);
    let snapshot = RedisSnapshot {
        running_set,
        running_keys,
        pending,
        latest_logs,
    };
    Ok((snapshot, rejections))
}

type Rejected<T> = (T, Vec<Rejection>);

async fn read_running_set(
    mut conn: impl ConnectionLike,
    names: &Names,
) -> Result<Rejected<Vec<String>>, RedisError> {
    let mut rejections = Vec::new();
    // In a pipeline that ignores errors, so that a key of another type
    // (WRONGTYPE) comes back as a value to reject rather than as a failure
    // of the whole read: it says nothing about which evaluations run, but
    // the other keys still do.
    let mut replies: Vec<Reply> = redis::pipe()
        .ignore_errors()
        .cmd("SMEMBERS")
        .arg(&names.running_set)
        .query_async(&mut conn)
        .await
        .map_err(|source| read_error(format!("SMEMBERS {}", names.running_set), source))?;
    let members = match replies.pop() {
        Some(Ok(Value::Array(items) | Value::Set(items))) => items,
        Some(Err(error)) => {
            rejections.push(key_rejection(&names.running_set, error.to_string()));
            return Ok((Vec::new(), rejections));
        }
        other => {
            rejections.push(key_rejection(
                &names.running_set,
                format!("unexpected reply {other:?}"),
            ));
            return Ok((Vec::new(), rejections));
        }
    };
    let mut ids: Vec<String> = members
        .into_iter()
        .filter_map(|member| bytes_of(member).and_then(|b| member_id(&b)))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok((ids, rejections))
}

async fn read_running_keys<C>(
    conn: &C,
    keys: &[(String, Vec<u8>)],
    progress: &Progress<'_>,
) -> Result<Rejected<Vec<RunningKey>>, RedisError>
where
    C: ConnectionLike + Clone + Send,
{
    let replies = read_in_batches(conn, keys, ("GET", "PTTL"), progress).await?;
    let mut rejections = Vec::new();
    let mut out = Vec::with_capacity(keys.len());
    for ((id, key), (value, ttl)) in keys.iter().zip(replies) {
        let Some(ttl_ms) = ttl_of(&ttl) else { continue };
        let value = match value {
            Ok(Value::Nil) => continue,
            Ok(value) => bytes_of(value),
            Err(error) => {
                rejections.push(key_rejection(key, error.to_string()));
                None
            }
        };
        let mut running = match &value {
            Some(bytes) => match decode_running(bytes) {
                Ok(running) => running,
                Err(reason) => {
                    rejections.push(key_rejection(key, reason));
                    RunningKey::default()
                }
            },
            None => RunningKey::default(),
        };
        running.eval_id = id.clone();
        running.ttl_ms = ttl_ms;
        out.push(running);
    }
    Ok((out, rejections))
}

async fn read_pending<C>(
    conn: &C,
    keys: &[(String, Vec<u8>)],
    progress: &Progress<'_>,
) -> Result<Rejected<Vec<(String, String)>>, RedisError>
where
    C: ConnectionLike + Clone + Send,
{
    let replies = read_in_batches(conn, keys, ("GET", "PTTL"), progress).await?;
    let mut rejections = Vec::new();
    let mut out = Vec::with_capacity(keys.len());
    for ((id, key), (value, _ttl)) in keys.iter().zip(replies) {
        match value {
            Ok(Value::Nil) => {}
            Ok(value) => {
                let status = bytes_of(value)
                    .map(|b| pending_status(&b))
                    .unwrap_or_default();
                out.push((id.clone(), status));
            }
            Err(error) => rejections.push(key_rejection(key, error.to_string())),
        }
    }
    Ok((out, rejections))
}

async fn read_latest_logs<C>(
    conn: &C,
    keys: &[(String, Vec<u8>)],
    progress: &Progress<'_>,
) -> Result<Rejected<Vec<LatestLogKey>>, RedisError>
where
    C: ConnectionLike + Clone + Send,
{
    let replies = read_in_batches(conn, keys, ("STRLEN", "PTTL"), progress).await?;
    let mut rejections = Vec::new();
    let mut out = Vec::with_capacity(keys.len());
    for ((id, key), (length, ttl)) in keys.iter().zip(replies) {
        // STRLEN of a vanished key is 0: only PTTL tells it is gone.
        let Some(ttl_ms) = ttl_of(&ttl) else { continue };
        match length {
            Ok(Value::Int(bytes)) => out.push(LatestLogKey {
                eval_id: id.clone(),
                bytes: usize::try_from(bytes).unwrap_or(0),
                ttl_ms,
            }),
            Ok(other) => rejections.push(key_rejection(key, format!("unexpected reply {other:?}"))),
            Err(error) => rejections.push(key_rejection(key, error.to_string())),
        }
    }
    Ok((out, rejections))
}

/// The keys matching `pattern` (with `{id}`), each with its sanitised id,
/// sorted by id. SCAN may return a key twice; each is kept once.
async fn scan_ids(
    mut conn: impl ConnectionLike,
    pattern: &str,
    progress: &Progress<'_>,
) -> Result<Vec<(String, Vec<u8>)>, RedisError> {
    let glob = scan_glob(pattern);
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&glob)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut conn)
            .await
            .map_err(|source| read_error(format!("SCAN MATCH {glob}"), source))?;
        let before = seen.len();
        seen.extend(batch);
        if seen.len() > before {
            progress.found(seen.len() - before);
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut keys: Vec<(String, Vec<u8>)> = seen
        .into_iter()
        .filter_map(|key| Some((key_id(pattern, &key)?, key)))
        .collect();
    keys.sort_unstable();
    Ok(keys)
}

/// The evaluation id a member of the running set names, sanitised; `None`
/// when nothing is left of it.
pub(crate) fn member_id(member: &[u8]) -> Option<String> {
    Some(clean_id(&String::from_utf8_lossy(member))).filter(|id| !id.is_empty())
}

/// The evaluation id in a key named by `pattern` (with `{id}`), sanitised.
pub(crate) fn key_id(pattern: &str, key: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(key);
    member_id(Names::id_in_key(pattern, &text)?.as_bytes())
}

/// A `pending:{id}` value, as one clean line.
pub(crate) fn pending_status(value: &[u8]) -> String {
    clean_line(&String::from_utf8_lossy(value))
}

/// The SCAN pattern for a key pattern, like `Names::scan_pattern`, but with
/// glob characters in the fixed parts escaped, so that a configured name
/// holding `*`, `?` or `[` matches only itself.
pub(crate) fn scan_glob(pattern: &str) -> String {
    pattern
        .split("{id}")
        .map(glob_escape)
        .collect::<Vec<_>>()
        .join("*")
}

pub(crate) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// PTTL's answer: `None` when the key is gone (-2), `Some(None)` when it has
/// no TTL (-1), else the milliseconds left. A reply that is not a number
/// leaves the TTL unknown but the key present.
fn ttl_of(reply: &Reply) -> Option<Option<i64>> {
    match reply {
        Ok(Value::Int(-2)) => None,
        Ok(Value::Int(ms)) if *ms >= 0 => Some(Some(*ms)),
        _ => Some(None),
    }
}

fn bytes_of(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn key_rejection(key: impl AsRef<[u8]>, reason: String) -> Rejection {
    Rejection {
        source: Source::Redis,
        channel: format!("key {}", clean_line(&String::from_utf8_lossy(key.as_ref()))),
        reason: clean_line(&reason),
    }
}

pub(super) fn read_error(what: String, source: redis::RedisError) -> RedisError {
    RedisError::Read {
        what: clean_line(&what),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_globs_escape_fixed_parts() {
        assert_eq!(scan_glob("eval:{id}:running"), "eval:*:running");
        assert_eq!(scan_glob("a*[b]:{id}"), "a\\*\\[b\\]:*");
        assert_eq!(
            scan_glob(&Names::default().latest_log_key),
            Names::scan_pattern(&Names::default().latest_log_key)
        );
    }

    #[test]
    fn ttls_distinguish_gone_from_no_ttl() {
        assert_eq!(ttl_of(&Ok(Value::Int(-2))), None);
        assert_eq!(ttl_of(&Ok(Value::Int(-1))), Some(None));
        assert_eq!(ttl_of(&Ok(Value::Int(1500))), Some(Some(1500)));
    }
}
