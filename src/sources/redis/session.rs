//! One connection's life: subscribe, then read the keys (so that nothing
//! falls between the two), then stream messages and re-read the keys on a
//! timer until the connection is lost.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use redis::aio::{MultiplexedConnection, PubSubSink};
use redis::{AsyncConnectionConfig, Client, Msg};
use tokio::time::{Instant, MissedTickBehavior};

use super::keys::{glob_escape, read_keys_reporting};
use super::{RedisConfig, RedisError, send};
use crate::model::{Lag, Observation, RedisSnapshot, Rejection, Source};
use crate::names::Names;
use crate::protocol;
use crate::sources::liveness::{Liveness, Verdict};
use crate::sources::{Received, Sink};

/// How long to wait for a connection, a subscription, or a PING.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// How long one command (a pipeline of up to a thousand GETs, SMEMBERS of a
/// large set) may take before the key connection counts as dead.
const COMMAND_WITHIN: Duration = Duration::from_secs(30);
/// A resync shorter than this would keep Redis busy re-reading keys.
const MIN_RESYNC: Duration = Duration::from_millis(100);
/// Messages read from pub/sub and not yet handed to the app, at most: a
/// queue evaltop owns, so that how far behind it is can be measured. The
/// redis client buffers what the stream has not taken without bound, so
/// the stream is always read; a message that finds the queue full ends
/// the session: a blind window and a resync, not a silent loss, and memory
/// stays bounded.
const QUEUE_CAP: usize = 100_000;
/// Messages read, or handed on, per turn of the loop at most: enough to
/// spare the loop's overhead per message, few enough that the probes and
/// key reads beside it still get their turn.
const BATCH: usize = 512;

type KeyReadResult = (RedisSnapshot, Vec<Rejection>);
type KeyRead = Pin<Box<dyn Future<Output = Result<KeyReadResult, RedisError>> + Send>>;

/// PING on both connections: a subscriber whose connection died silently
/// (no FIN, a stuck proxy, a frozen server) sees no error and no message,
/// and a key connection may hang the same way.
fn probes(
    period: Duration,
    pubsub: &PubSubSink,
    conn: &MultiplexedConnection,
) -> Liveness<redis::RedisError> {
    let (pubsub, conn) = (pubsub.clone(), conn.clone());
    Liveness::new(period, move || {
        let (mut pubsub, mut conn) = (pubsub.clone(), conn.clone());
        async move {
            let ping = redis::cmd("PING");
            let (on_pubsub, on_keys) = tokio::join!(
                pubsub.ping::<redis::Value>(),
                ping.query_async::<redis::Value>(&mut conn)
            );
            on_pubsub?;
            on_keys?;
            Ok(())
        }
    })
}

/// How a session ended.
pub(super) enum End {
    SinkClosed,
    Failed(RedisError),
}

pub(super) struct Session<'a> {
    pub client: &'a Client,
    pub config: &'a RedisConfig,
    /// The URL with any password redacted, for messages.
    pub url: &'a str,
    pub sink: &'a Sink,
}

/// Why the loop stopped: the sink closed, or Redis failed.
type Step<T> = Result<T, End>;

impl Session<'_> {
    /// Runs until the connection is lost or the sink closes. Also returns
    /// how long the source was up (`None` if it never came up).
    pub(super) async fn run(&self) -> (End, Option<Duration>) {
        let mut up_since = None;
        let end = match self.watch(&mut up_since).await {
            Ok(never) => match never {},
            Err(end) => end,
        };
        (end, up_since.map(|since: Instant| since.elapsed()))
    }

    async fn watch(&self, up_since: &mut Option<Instant>) -> Step<std::convert::Infallible> {
        // Both connections at once: the subscription still comes before
        // the first read of the keys, which starts only once both are up.
        let ((pubsub, mut messages), conn) =
            futures::try_join!(self.subscribe(), self.key_connection())?;
        let version = self
            .within("INFO server", server_version(&mut conn.clone()))
            .await?;
        self.emit(Observation::SourceUp {
            source: Source::Redis,
            detail: match version {
                Some(version) => format!("redis {version}"),
                None => "redis (version unknown)".to_string(),
            },
        })
        .await?;
        *up_since = Some(Instant::now());
        tracing::info!(url = self.url, "redis source subscribed");

        let mut liveness = probes(self.config.liveness, &pubsub, &conn);
        let period = self.config.resync.max(MIN_RESYNC);
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        // After a slow read, do not fire a burst of catch-up reads.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The keys are read beside the stream and the probes, so that a
        // long read neither holds up messages nor hides a frozen server.
        // The first read says how far it has come: until it is applied,
        // the header shows it rather than a bare "syncing".
        let mut reading = Some(self.read(&conn, true));
        let mut queue: VecDeque<(Instant, Msg)> = VecDeque::new();
        let mut lagged = false;
        // When the pub/sub connection last delivered a message: proof that
        // the server is alive, even while a probe's answer waits behind
        // the messages.
        let mut last_read: Option<Instant> = None;
        let end = loop {
            let step: Step<()> = tokio::select! {
                message = messages.next() => match message {
                    Some(_) if queue.len() >= QUEUE_CAP => Err(self.failed(RedisError::FellBehind {
                        url: self.url.to_string(),
                        waiting: queue.len(),
                    })),
                    Some(message) => {
                        let read_at = Instant::now();
                        last_read = Some(read_at);
                        queue.push_back((read_at, message));
                        self.read_ready(&mut messages, &mut queue, read_at)
                    }
                    None => Err(self.failed(RedisError::StreamClosed { url: self.url.to_string() })),
                },
                permit = self.sink.reserve(), if !queue.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some((_, message)) = queue.pop_front()
                            && let Some(observation) = self.decode(&message)
                        {
                            permit.send(Received::now(observation));
                        }
                        self.hand_on_ready(&mut queue);
                        Ok(())
                    }
                    Err(_closed) => Err(End::SinkClosed),
                },
                verdict = liveness.next() => match verdict {
                    Verdict::Live(probed_at) => {
                        let lag = self.lag(&queue);
                        let report = lag.is_some() || lagged;
                        lagged = lag.is_some();
                        self.probed(probed_at, report.then(|| lag.unwrap_or_default())).await
                    }
                    // The answer waits behind the messages Redis is still
                    // sending: it is busy, not frozen.
                    Verdict::NoAnswer(after) if last_read.is_some_and(|at| at.elapsed() < after) => {
                        let lag = self.lag(&queue);
                        lagged = lag.is_some();
                        self.probed(crate::model::Ts::now(), Some(lag.unwrap_or_default())).await
                    }
                    Verdict::NoAnswer(after) => Err(self.failed(RedisError::Timeout {
                        url: self.url.to_string(),
                        what: "PING on the pub/sub and key connections",
                        after,
                    })),
                    Verdict::Failed(source) => Err(self.connect_error(source)),
                },
                _ = ticker.tick(), if reading.is_none() => {
                    reading = Some(self.read(&conn, false));
                    Ok(())
                }
                read = async { reading.as_mut().expect("guarded").await }, if reading.is_some() => {
                    reading = None;
                    self.resynced(read).await
                }
                () = self.sink.closed() => Err(End::SinkClosed),
            };
            if let Err(end) = step {
                break end;
            }
        };
        // What was read before the loss was received: it is not lost.
        if !matches!(end, End::SinkClosed) {
            for (_, message) in queue.drain(..) {
                if let Some(observation) = self.decode(&message) {
                    self.emit(observation).await?;
                }
            }
        }
        Err(end)
    }

    /// Moves what the stream holds already into the queue, up to a batch,
    /// without waiting: one turn of the loop per batch rather than per
    /// message, so that reading keeps up with Redis.
    fn read_ready(
        &self,
        messages: &mut redis::aio::PubSubStream,
        queue: &mut VecDeque<(Instant, Msg)>,
        read_at: Instant,
    ) -> Step<()> {
        for _ in 1..BATCH {
            if queue.len() >= QUEUE_CAP {
                // The next message, taken by the loop, ends the session.
                break;
            }
            match messages.next().now_or_never() {
                Some(Some(message)) => queue.push_back((read_at, message)),
                Some(None) => {
                    return Err(self.failed(RedisError::StreamClosed {
                        url: self.url.to_string(),
                    }));
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Decodes and hands on queued messages while the app's channel has
    /// room, up to a batch, without waiting.
    fn hand_on_ready(&self, queue: &mut VecDeque<(Instant, Msg)>) {
        for _ in 1..BATCH {
            if queue.is_empty() {
                break;
            }
            let Ok(permit) = self.sink.try_reserve() else {
                break;
            };
            if let Some((_, message)) = queue.pop_front()
                && let Some(observation) = self.decode(&message)
            {
                permit.send(Received::now(observation));
            }
        }
    }

    /// How far behind the app is: what was read here and not handed on,
    /// plus what waits for it in the sink (`None` when nothing waits).
    fn lag(&self, queue: &VecDeque<(Instant, Msg)>) -> Option<Lag> {
        let in_sink = self.sink.max_capacity() - self.sink.capacity();
        let waiting = u64::try_from(queue.len() + in_sink).unwrap_or(u64::MAX);
        let oldest_ms = queue.front().map_or(0, |(at, _)| {
            i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX)
        });
        (waiting > 0).then_some(Lag { waiting, oldest_ms })
    }

    /// A probe answered: say so, and how far behind, when `lag` is given
    /// (a zero lag once more after being behind, to clear it).
    async fn probed(&self, probed_at: crate::model::Ts, lag: Option<Lag>) -> Step<()> {
        self.emit(Observation::SourceLive {
            source: Source::Redis,
            probed_at,
        })
        .await?;
        if let Some(lag) = lag {
            self.emit(Observation::SourceLag {
                source: Source::Redis,
                waiting: lag.waiting,
                oldest_ms: lag.oldest_ms,
            })
            .await?;
        }
        Ok(())
    }

    /// Opens the pub/sub connection and subscribes to one pattern per
    /// prefix; returns once the server has confirmed both.
    async fn subscribe(&self) -> Step<(PubSubSink, redis::aio::PubSubStream)> {
        let pubsub = self
            .within("a connection", self.client.get_async_pubsub())
            .await?
            .map_err(|source| self.connect_error(source))?;
        let (mut pubsub, messages) = pubsub.split();
        for pattern in patterns(&self.config.names) {
            self.within("PSUBSCRIBE", pubsub.psubscribe(&pattern))
                .await?
                .map_err(|source| {
                    self.failed(RedisError::Subscribe {
                        url: self.url.to_string(),
                        pattern: pattern.clone(),
                        source,
                    })
                })?;
        }
        Ok((pubsub, messages))
    }

    async fn key_connection(&self) -> Step<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(ANSWER_WITHIN))
            .set_response_timeout(Some(COMMAND_WITHIN));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|source| self.connect_error(source))
    }

    /// One full read of the keys, on its own handle of the key connection;
    /// with `reporting`, its progress goes to the app as it reads.
    fn read(&self, conn: &MultiplexedConnection, reporting: bool) -> KeyRead {
        let conn = conn.clone();
        let names = self.config.names.clone();
        let sink = reporting.then(|| self.sink.clone());
        Box::pin(async move {
            let report = move |progress| {
                // Progress may be dropped when the app is behind: the next
                // report, or the snapshot itself, says more anyway.
                if let Some(sink) = &sink {
                    let _ = sink.try_send(Received::now(Observation::SourceProgress {
                        source: Source::Redis,
                        progress,
                    }));
                }
            };
            read_keys_reporting(&conn, &names, &report).await
        })
    }

    /// Sends a finished read's snapshot, then its rejections.
    async fn resynced(&self, read: Result<KeyReadResult, RedisError>) -> Step<()> {
        let (snapshot, rejections) = read.map_err(|error| {
            self.failed(RedisError::At {
                url: self.url.to_string(),
                source: Box::new(error),
            })
        })?;
        tracing::debug!(
            running_set = snapshot.running_set.len(),
            running_keys = snapshot.running_keys.len(),
            pending = snapshot.pending.len(),
            latest_logs = snapshot.latest_logs.len(),
            rejected = rejections.len(),
            "redis keys read"
        );
        self.emit(Observation::RedisKeys(snapshot)).await?;
        for rejection in rejections {
            self.emit(Observation::Rejected(rejection)).await?;
        }
        Ok(())
    }

    /// Decodes one message; channels outside the contract are ignored.
    fn decode(&self, message: &Msg) -> Option<Observation> {
        let channel = message.get_channel_name();
        let decoded = protocol::decode(&self.config.names, channel, message.get_payload_bytes());
        if decoded.is_none() {
            tracing::trace!(channel, "message on a channel outside the contract ignored");
        }
        decoded
    }

    async fn emit(&self, observation: Observation) -> Step<()> {
        send(self.sink, observation)
            .await
            .map_err(|()| End::SinkClosed)
    }

    /// Awaits `future` for at most `ANSWER_WITHIN`.
    async fn within<T>(&self, what: &'static str, future: impl Future<Output = T>) -> Step<T> {
        tokio::time::timeout(ANSWER_WITHIN, future)
            .await
            .map_err(|_elapsed| {
                self.failed(RedisError::Timeout {
                    url: self.url.to_string(),
                    what,
                    after: ANSWER_WITHIN,
                })
            })
    }

    fn connect_error(&self, source: redis::RedisError) -> End {
        self.failed(RedisError::Connect {
            url: self.url.to_string(),
            source,
        })
    }

    fn failed(&self, error: RedisError) -> End {
        End::Failed(error)
    }
}

/// One pattern per prefix; when one prefix starts with the other, only the
/// shorter, so that no message arrives twice.
fn patterns(names: &Names) -> Vec<String> {
    let mut prefixes = vec![names.channel_prefix.as_str(), names.storage_prefix.as_str()];
    prefixes.sort_by_key(|prefix| prefix.len());
    let mut kept: Vec<&str> = Vec::new();
    for prefix in prefixes {
        if !kept.iter().any(|shorter| prefix.starts_with(shorter)) {
            kept.push(prefix);
        }
    }
    kept.into_iter()
        .map(|prefix| format!("{}*", glob_escape(prefix)))
        .collect()
}

/// `redis_version` from `INFO server`; `None` when INFO is refused (renamed
/// or disabled by the operator) or says nothing about it.
async fn server_version(conn: &mut MultiplexedConnection) -> Option<String> {
    let info: String = match redis::cmd("INFO").arg("server").query_async(conn).await {
        Ok(info) => info,
        Err(error) => {
            tracing::debug!(%error, "INFO server refused; version unknown");
            return None;
        }
    };
    info.lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .map(|version| crate::sanitize::clean_line(version.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pattern_per_prefix_without_overlap() {
        let names = Names::default();
        assert_eq!(patterns(&names), ["evaluation:*", "storage:evaluation:*"]);
        let nested = Names {
            storage_prefix: "evaluation:storage:".into(),
            ..Names::default()
        };
        assert_eq!(patterns(&nested), ["evaluation:*"]);
    }
}
