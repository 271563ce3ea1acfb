//! The Redis source: subscribes to the platform's channels, reads its keys
//! on every (re)connect and on a timer, and reports each connection loss as
//! a blind window (pub/sub is at-most-once: what was published meanwhile is
//! gone for good).

mod backlog;
mod batches;
pub(crate) mod keys;
mod resp;
mod running_value;
mod session;
mod subscriber;

use std::time::Duration;

use crate::model::{Observation, Source};
use crate::names::Names;
use crate::sources::{Backoff, Received, Sink};

pub use backlog::DEFAULT_BACKLOG_BYTES;
pub use keys::{read_keys, read_keys_reporting};

/// Where and how to watch Redis.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`; the password is never shown.
    pub url: String,
    /// How often the keys are read again, whatever pub/sub says.
    pub resync: Duration,
    /// How often both connections are probed with PING (each probe may
    /// take 1.8 times this): a frozen server is noticed within 2.8 periods.
    pub liveness: Duration,
    pub names: Names,
    /// How many bytes of messages evaltop holds, read and not yet applied,
    /// before it stops reading ([`DEFAULT_BACKLOG_BYTES`]).
    pub backlog_bytes: usize,
}

/// Why the Redis source is not watching. Each message names the server
/// (with any password redacted) and says what failed in an operator's words.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("invalid Redis URL {url}: {}", describe(.source))]
    InvalidUrl {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("cannot reach Redis at {url}: {}", describe(.source))]
    Connect {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("Redis at {url} did not answer {what} within {}s", .after.as_secs_f64())]
    Timeout {
        url: String,
        what: &'static str,
        after: Duration,
    },
    #[error(
        "pub/sub connection to Redis at {url} was closed (server restart, or the \
         server dropped a slow subscriber): messages until the reconnect are lost"
    )]
    StreamClosed { url: String },
    #[error("Redis at {url} refused {what}: {reply}")]
    Refused {
        url: String,
        what: String,
        reply: String,
    },
    #[error("cannot read {what} from Redis: {}", describe(.source))]
    Read {
        what: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("Redis answered something unexpected: {0}")]
    Protocol(String),
    #[error("Redis at {url}: {source}")]
    At {
        url: String,
        #[source]
        source: Box<RedisError>,
    },
}

impl RedisError {
    /// The server did not answer in time (rather than refusing or closing).
    pub fn is_no_answer(&self) -> bool {
        match self {
            RedisError::Timeout { .. } => true,
            RedisError::Connect { source, .. } | RedisError::Read { source, .. } => {
                source.is_timeout()
            }
            RedisError::At { source, .. } => source.is_no_answer(),
            RedisError::InvalidUrl { .. }
            | RedisError::StreamClosed { .. }
            | RedisError::Refused { .. }
            | RedisError::Protocol(_) => false,
        }
    }
}

/// A redis error in an operator's words: the usual network failures named
/// plainly, anything else as the client says it.
fn describe(error: &redis::RedisError) -> String {
    if error.is_connection_refusal() {
        "connection refused".to_string()
    } else if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connection_dropped() {
        format!("connection dropped ({error})")
    } else {
        error.to_string()
    }
}

/// The URL as it may be shown and logged: any password replaced by `***`,
/// in the user-info part and in a `password=`/`pass=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let query = query.map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if matches!(name, "password" | "pass") => format!("{name}=***"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(query) => format!("{scheme}{authority}{path}?{query}"),
        None => format!("{scheme}{authority}{path}"),
    }
}

/// A connection that worked for this long resets the backoff; one that
/// keeps dropping right after connecting (a server that kills a slow
/// subscriber at once) backs off further, so that evaltop does not re-read
/// every key four times a second.
const STABLE_AFTER: Duration = Duration::from_secs(5);

/// Runs forever (returns only when the sink is closed): subscribes, reads
/// the keys, streams messages, re-reads the keys every `resync`, and on any
/// loss reports `SourceDown`, backs off and starts again.
pub async fn run(config: RedisConfig, sink: Sink) {
    let shown_url = redact_url(&config.url);
    let client = match redis::Client::open(config.url.as_str()) {
        Ok(client) => client,
        Err(source) => {
            let error = RedisError::InvalidUrl {
                url: shown_url,
                source,
            };
            tracing::error!(%error, "redis source cannot start");
            // Retrying cannot fix a malformed URL: say so once, then wait
            // for the app to close so that `run` keeps its contract.
            if send(&sink, down(&error)).await.is_ok() {
                sink.closed().await;
            }
            return;
        }
    };
    let mut backoff = Backoff::new();
    loop {
        let session = session::Session {
            client: &client,
            config: &config,
            url: &shown_url,
            sink: &sink,
        };
        let (end, up_for) = session.run().await;
        let error = match end {
            session::End::SinkClosed => return,
            session::End::Failed(error) => error,
        };
        tracing::warn!(%error, "redis source disconnected");
        if send(&sink, down(&error)).await.is_err() {
            return;
        }
        // An attempt that waited for an answer has already waited: only
        // refusals and drops need the growing delay.
        if up_for.is_some_and(|up| up >= STABLE_AFTER) || error.is_no_answer() {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        tracing::debug!(?delay, "redis source reconnecting after a delay");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = sink.closed() => return,
        }
    }
}

fn down(error: &RedisError) -> Observation {
    let reason = error.to_string();
    if error.is_no_answer() {
        Observation::SourceUnanswered {
            source: Source::Redis,
            reason,
        }
    } else {
        Observation::SourceDown {
            source: Source::Redis,
            reason,
        }
    }
}

/// Sends one observation; `Err` when the app has gone.
async fn send(sink: &Sink, observation: Observation) -> Result<(), ()> {
    sink.send(Received::now(observation)).await.map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let cases = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
            ("redis://user:p@ss@host/1", "redis://user:***@host/1"),
            ("rediss://admin@host", "rediss://admin@host"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=s3cret",
                "redis+unix:///run/redis.sock?db=1&pass=***",
            ),
            (
                "unix:///tmp/r.sock?password=x",
                "unix:///tmp/r.sock?password=***",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn errors_name_the_server_in_plain_words() {
        let error = RedisError::StreamClosed {
            url: redact_url("redis://:pw@127.0.0.1:1"),
        };
        let text = error.to_string();
        assert!(text.contains("redis://:***@127.0.0.1:1"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
    }
}
