//! One connection's life: subscribe, then read the keys (so that nothing
//! falls between the two), then stream messages and re-read the keys on a
//! timer until the connection is lost.

use std::pin::Pin;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokio::time::{Instant, MissedTickBehavior};

use super::backlog::{Backlog, Waiting};
use super::keys::{glob_escape, read_keys_reporting};
use super::subscriber::{Failure, Pinger, Subscriber};
use super::{RedisConfig, RedisError, send};
use crate::model::{Lag, Observation, RedisSnapshot, Rejection, Source, Ts};
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
/// Messages handed on per turn of the loop at most: enough to spare the
/// loop's overhead per message, few enough that the probes and key reads
/// beside it still get their turn.
const BATCH: usize = 512;

type KeyReadResult = (RedisSnapshot, Vec<Rejection>);
type KeyRead = Pin<Box<dyn Future<Output = Result<KeyReadResult, RedisError>> + Send>>;

/// Which connection failed a probe.
enum ProbeFailure {
    PubSub(std::io::Error),
    Keys(redis::RedisError),
}

/// PING on both connections: a subscriber whose connection died silently
/// (no FIN, a stuck proxy, a frozen server) sees no error and no message,
/// and a key connection may hang the same way.
fn probes(
    period: Duration,
    pinger: &Pinger,
    conn: &MultiplexedConnection,
) -> Liveness<ProbeFailure> {
    let (pinger, conn) = (pinger.clone(), conn.clone());
    Liveness::new(period, move || {
        let (pinger, mut conn) = (pinger.clone(), conn.clone());
        async move {
            let ping = redis::cmd("PING");
            let (on_pubsub, on_keys) =
                tokio::join!(pinger.ping(), ping.query_async::<redis::Value>(&mut conn));
            on_pubsub.map_err(ProbeFailure::PubSub)?;
            on_keys.map_err(ProbeFailure::Keys)?;
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
        let (mut subscriber, conn) = futures::try_join!(self.subscribe(), self.key_connection())?;
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

        let mut liveness = probes(self.config.liveness, &subscriber.pinger(), &conn);
        let period = self.config.resync.max(MIN_RESYNC);
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        // After a slow read, do not fire a burst of catch-up reads.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The keys are read beside the stream and the probes, so that a
        // long read neither holds up messages nor hides a frozen server.
        // The first read says how far it has come: until it is applied,
        // the header shows it rather than a bare "syncing".
        let mut reading = Some(self.read(&conn, true));
        // Past its bound the subscriber stops reading: Redis holds what
        // follows, and drops the subscriber if that passes its
        // client-output-buffer-limit (a blind window, then a resync).
        let mut backlog = Backlog::new(self.config.backlog_bytes);
        let mut lagged = false;
        // When the pub/sub connection last delivered a message, or the
        // backlog was last too full to read it: proof that the server is
        // alive, or that the answer to a probe waits behind messages not
        // read yet.
        let mut excused_at: Option<Instant> = None;
        let end = loop {
            // Held back while the backlog is full, however long this turn
            // waits: noted when it ends, so that the next verdict knows.
            let held_back = !backlog.has_room();
            let step: Step<()> = tokio::select! {
                // In this order: the probes, the key reads and the app's
                // end are seldom ready and must never wait behind a flood;
                // then reading, whenever there is room, before handing on:
                // a burst should wait in the backlog, not in Redis's output
                // buffer for the subscriber, which Redis cuts at its limit.
                // Each read hands on what the app has room for, too.
                biased;
                verdict = liveness.next() => match verdict {
                    Verdict::Live(probed_at) => {
                        let lag = self.lag(&backlog);
                        let report = lag.is_some() || lagged;
                        lagged = lag.is_some();
                        self.probed(probed_at, report.then(|| lag.unwrap_or_default())).await
                    }
                    // The answer waits behind the messages Redis is still
                    // sending, or that evaltop has no room to read yet: it
                    // is busy, not frozen.
                    Verdict::NoAnswer(after)
                        if held_back || excused_at.is_some_and(|at| at.elapsed() < after) =>
                    {
                        let lag = self.lag(&backlog);
                        lagged = lag.is_some();
                        self.probed(Ts::now(), Some(lag.unwrap_or_default())).await
                    }
                    Verdict::NoAnswer(after) => Err(self.failed(RedisError::Timeout {
                        url: self.url.to_string(),
                        what: "PING on the pub/sub and key connections",
                        after,
                    })),
                    Verdict::Failed(ProbeFailure::Keys(source)) => Err(self.connect_error(source)),
                    Verdict::Failed(ProbeFailure::PubSub(error)) => {
                        tracing::debug!(%error, "pub/sub connection lost under a probe");
                        Err(self.closed())
                    }
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
                read = subscriber.read(), if backlog.has_room() => match read {
                    Ok(0) => Err(self.closed()),
                    Ok(_) => {
                        excused_at = Some(Instant::now());
                        self.take_messages(&mut subscriber, &mut backlog)
                            .map(|()| self.hand_on_ready(&mut backlog))
                    }
                    // A reset is how a server that dropped a slow
                    // subscriber with output unsent often closes.
                    Err(error) => {
                        tracing::debug!(%error, "pub/sub connection lost");
                        Err(self.closed())
                    }
                },
                permit = self.sink.reserve(), if !backlog.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(received) = backlog.pop().and_then(|waiting| self.decoded(&waiting)) {
                            permit.send(received);
                        }
                        self.hand_on_ready(&mut backlog);
                        Ok(())
                    }
                    Err(_closed) => Err(End::SinkClosed),
                },
            };
            if held_back {
                excused_at = Some(Instant::now());
            }
            if let Err(end) = step {
                break end;
            }
        };
        // What was read before the loss was received: it is not lost.
        if !matches!(end, End::SinkClosed) {
            // A malformed frame ends what can be read whole.
            let _ = self.take_messages(&mut subscriber, &mut backlog);
            while let Some(waiting) = backlog.pop() {
                if let Some(received) = self.decoded(&waiting) {
                    send_received(self.sink, received).await?;
                }
            }
        }
        Err(end)
    }

    /// Takes every message the subscriber's buffer holds whole, all
    /// stamped with the time they were read: straight to the app while
    /// nothing waits before them and it has room, else into the backlog.
    fn take_messages(&self, subscriber: &mut Subscriber, backlog: &mut Backlog) -> Step<()> {
        let at = Ts::now();
        loop {
            match subscriber.next_message() {
                // Nothing waits before it and the app has room: handed on
                // from the read buffer, without a copy into the backlog.
                Ok(Some(message)) if backlog.is_empty() => match self.sink.try_reserve() {
                    Ok(permit) => {
                        if let Some(observation) = self.decode(message.channel, message.payload) {
                            permit.send(Received { at, observation });
                        }
                    }
                    Err(_) => backlog.push(at, message.channel, message.payload),
                },
                Ok(Some(message)) => backlog.push(at, message.channel, message.payload),
                Ok(None) => return Ok(()),
                Err(failure) => return Err(self.subscriber_failed("a message", failure)),
            }
        }
    }

    /// Hands on queued messages, decoded, while the app's channel has room,
    /// up to a batch, without waiting.
    fn hand_on_ready(&self, backlog: &mut Backlog) {
        for _ in 0..BATCH {
            if backlog.is_empty() {
                break;
            }
            let Ok(permit) = self.sink.try_reserve() else {
                break;
            };
            if let Some(received) = backlog.pop().and_then(|waiting| self.decoded(&waiting)) {
                permit.send(received);
            }
        }
    }

    /// How far behind the app is: what was read here and not handed on,
    /// plus what waits for it in the sink (`None` when nothing waits).
    fn lag(&self, backlog: &Backlog) -> Option<Lag> {
        let in_sink = self.sink.max_capacity() - self.sink.capacity();
        let waiting = u64::try_from(backlog.len() + in_sink).unwrap_or(u64::MAX);
        let oldest_ms = backlog
            .oldest()
            .map_or(0, |at| (Ts::now().millis() - at.millis()).max(0));
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
    async fn subscribe(&self) -> Step<Subscriber> {
        let mut subscriber = self
            .within(
                "a connection",
                Subscriber::connect(self.client.get_connection_info()),
            )
            .await?
            .map_err(|failure| self.subscriber_failed("a connection", failure))?;
        let patterns = patterns(&self.config.names);
        self.within("PSUBSCRIBE", subscriber.psubscribe(&patterns))
            .await?
            .map_err(|failure| self.subscriber_failed("PSUBSCRIBE", failure))?;
        Ok(subscriber)
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

    /// A waiting message decoded, with the time it was read; `None` for a
    /// channel outside the contract.
    fn decoded(&self, waiting: &Waiting) -> Option<Received> {
        let observation = self.decode(waiting.channel(), waiting.payload())?;
        Some(Received {
            at: waiting.at,
            observation,
        })
    }

    /// Decodes one message; channels outside the contract are ignored.
    fn decode(&self, channel: &[u8], payload: &[u8]) -> Option<Observation> {
        // `from_utf8_lossy` walks the text by chunks even when it is valid:
        // checked plainly first, as almost every channel is.
        let channel = match std::str::from_utf8(channel) {
            Ok(channel) => std::borrow::Cow::Borrowed(channel),
            Err(_) => String::from_utf8_lossy(channel),
        };
        let decoded = protocol::decode(&self.config.names, &channel, payload);
        if decoded.is_none() {
            tracing::trace!(%channel, "message on a channel outside the contract ignored");
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

    /// The pub/sub connection was lost: closed, reset, or refused a write.
    fn closed(&self) -> End {
        self.failed(RedisError::StreamClosed {
            url: self.url.to_string(),
        })
    }

    /// What the pub/sub connection's failure means, in the source's terms.
    fn subscriber_failed(&self, what: &'static str, failure: Failure) -> End {
        let url = self.url.to_string();
        self.failed(match failure {
            Failure::Io(error) => RedisError::Connect {
                url,
                source: error.into(),
            },
            Failure::Refused { what, reply } => RedisError::Refused {
                url,
                what,
                reply: crate::sanitize::clean_line(&reply),
            },
            Failure::Malformed(malformed) => {
                RedisError::Protocol(format!("{malformed} (in {what} on the pub/sub connection)"))
            }
            Failure::Closed => RedisError::StreamClosed { url },
        })
    }
}

/// Hands on one received observation, waiting for room.
async fn send_received(sink: &Sink, received: Received) -> Step<()> {
    sink.send(received).await.map_err(|_closed| End::SinkClosed)
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
