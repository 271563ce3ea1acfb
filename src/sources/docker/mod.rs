//! The Docker source: connects to the engine, takes a checkpoint on the
//! daemon's clock, lists every evaluation container, then streams container
//! events from the checkpoint, relisting on a timer and starting over on any
//! failure. Level-triggered: the list says what is true, events only say
//! something changed.

mod connect;
pub(crate) mod facts;
mod logs;
mod session;
mod stream_check;
mod timed;

use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::model::{EngineName, Observation, Source};
use crate::names::Names;
use crate::sources::{Backoff, Received, Sink};

pub use connect::connect;
pub use logs::{LOG_TAIL_BYTES, LOG_TAIL_LINES, capture_logs};
pub use session::inspect;
pub use timed::{LineBatch, LogRead, read_lines};

/// What the Docker source watches and how.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// The engine's name, on every observation it sends.
    pub engine: EngineName,
    /// `unix:///path`, `tcp://host:port` or `http://host:port`; `None`
    /// means `DOCKER_HOST`, else the local socket.
    pub host: Option<String>,
    /// Only containers of these executors (the `executor` label); empty
    /// means every executor.
    pub executors: Vec<String>,
    /// How often to relist while the event stream runs: a half-dead stream
    /// produces no error, only silence.
    pub resync: Duration,
    /// How often the engine is pinged (`/_ping`, each ping may take 1.8
    /// times this): a frozen engine or proxy is noticed within 2.8 periods.
    pub liveness: Duration,
    pub names: Names,
}

/// Why a Docker call failed, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached or did not answer the handshake.
    #[error("cannot reach Docker at {address}: {detail}")]
    Unreachable { address: String, detail: String },
    /// The configured host is not an address evaltop can use.
    #[error("cannot use Docker host {host:?}: {detail}")]
    BadHost { host: String, detail: String },
    /// The container does not exist (any more): a normal answer, since the
    /// executor removes containers at any moment.
    #[error("no such container (already removed)")]
    NotFound,
    /// The engine answered, but refused (e.g. 409: logs of a container that
    /// is being removed).
    #[error("Docker refused to {action} (HTTP {status}): {detail}")]
    Refused {
        action: String,
        status: u16,
        detail: String,
    },
    /// A request failed on the way (connection lost, timeout, bad answer).
    #[error("Docker failed to {action}: {detail}")]
    Request { action: String, detail: String },
    /// An action's container is on no engine evaltop was given (or its
    /// engine is not known and there are several).
    #[error("{}", no_engine(engine.as_deref(), known))]
    NoEngine {
        engine: Option<String>,
        known: String,
    },
    /// The event stream closed: the daemon restarted or the connection
    /// dropped.
    #[error("the Docker event stream ended")]
    StreamEnded,
    /// No answer within the deadline: a frozen engine or proxy.
    #[error("Docker did not answer {what} within {}s", .after.as_secs_f64())]
    NoAnswer { what: String, after: Duration },
    /// A list showed changes that the event stream never reported.
    #[error(
        "the event stream missed {missed} changes that the list shows (e.g. {example}): starting it again"
    )]
    StreamMissed { missed: u32, example: String },
}

impl DockerError {
    /// Maps a bollard error of `action` ("list containers", ...): 404 is
    /// `NotFound`, other statuses `Refused`, the rest `Request`.
    pub(crate) fn from_bollard(action: &str, err: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match err {
            E::DockerResponseServerError {
                status_code: 404, ..
            } => DockerError::NotFound,
            E::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::Refused {
                action: action.to_string(),
                status: status_code,
                detail: crate::sanitize::clean_line(message.trim()),
            },
            other => DockerError::Request {
                action: action.to_string(),
                detail: error_chain(&other),
            },
        }
    }
}

fn no_engine(engine: Option<&str>, known: &str) -> String {
    match engine {
        Some(engine) => format!("no Docker engine named {engine} is watched (watched: {known})"),
        None => format!("the container's Docker engine is not known (watched: {known})"),
    }
}

/// An error and its causes on one line, the root cause first: bollard's
/// own message is often only "Error in the hyper legacy client", the
/// innermost cause says "Connection refused", and a status line that cuts
/// the text must keep that part.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        cause = next.source();
    }
    parts.reverse();
    let text = match parts.split_first() {
        Some((root, [])) => root.clone(),
        Some((root, context)) => format!("{root} (in: {})", context.join(" / ")),
        None => String::new(),
    };
    crate::sanitize::clean_line(&text)
}

/// A session that lasted this long counts as "a connection that worked":
/// the backoff starts over. Shorter ones keep growing it, so that a stream
/// that dies right after the list cannot make evaltop relist in a loop.
const HEALTHY_SESSION: Duration = Duration::from_secs(10);

/// Runs forever (returns only when the sink is closed): connect, checkpoint,
/// list, stream, reconnect.
pub async fn run(config: DockerConfig, sink: Sink) {
    let address = connect::describe_host(config.host.as_deref());
    let span = tracing::info_span!("docker_source", engine = %config.engine, address = %address);
    let sink = EngineSink {
        sink,
        engine: config.engine.clone(),
    };
    run_sessions(config, sink, address).instrument(span).await;
}

async fn run_sessions(config: DockerConfig, sink: EngineSink, address: String) {
    let mut backoff = Backoff::new();
    let mut memory = session::Memory::default();
    loop {
        let docker = match connect(config.host.as_deref()).await {
            Ok(docker) => docker,
            Err(err) => {
                tracing::warn!(error = %err, "Docker connection failed");
                let unanswered = matches!(err, DockerError::NoAnswer { .. });
                if !send_down(&sink, err.to_string(), unanswered).await {
                    return;
                }
                // An attempt that waited for an answer has waited already.
                if unanswered {
                    backoff.reset();
                }
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let started = Instant::now();
        match session::run_session(&docker, &config, &sink, &mut memory).await {
            session::End::SinkClosed => return,
            session::End::Lost(err) => {
                tracing::warn!(error = %err, "lost Docker");
                let reason = format!("lost Docker at {address}: {err}");
                if !send_down(&sink, reason, false).await {
                    return;
                }
            }
            session::End::Unanswered(err) => {
                tracing::warn!(error = %err, "Docker is not answering");
                let reason = format!("Docker at {address} is not answering: {err}");
                if !send_down(&sink, reason, true).await {
                    return;
                }
                backoff.reset();
            }
        }
        if started.elapsed() >= HEALTHY_SESSION {
            backoff.reset();
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// "engine 20.10.24, API 1.41", or what is known of it.
pub(crate) async fn describe_engine(docker: &bollard::Docker) -> String {
    let api = docker.client_version();
    // The handshake just worked; an engine that freezes right now is the
    // session's to find out, not a reason to wait here.
    let Ok(version) = tokio::time::timeout(connect::HANDSHAKE_TIMEOUT, docker.version()).await
    else {
        return format!("API {api}");
    };
    match version {
        Ok(version) => format!(
            "engine {}, API {api}",
            crate::sanitize::clean_line(version.version.as_deref().unwrap_or("?"))
        ),
        Err(err) => {
            // The handshake already worked; a failed description is not
            // worth a reconnect, the session will find out soon enough.
            tracing::debug!(error = %error_chain(&err), "Docker version unavailable");
            format!("API {api}")
        }
    }
}

/// `SourceUnanswered` when the engine went silent, else `SourceDown`.
async fn send_down(sink: &EngineSink, reason: String, unanswered: bool) -> bool {
    let source = Source::Docker(sink.engine.clone());
    let observation = if unanswered {
        Observation::SourceUnanswered { source, reason }
    } else {
        Observation::SourceDown { source, reason }
    };
    send(sink, observation).await
}

/// Sends one observation; false when the app has gone.
pub(crate) async fn send(sink: &EngineSink, observation: Observation) -> bool {
    let observation = observation.with_engine(&sink.engine);
    sink.sink.send(Received::now(observation)).await.is_ok()
}

/// The app's sink, for one engine: everything sent through it is named
/// after the engine, so that no observation leaves without its source.
#[derive(Clone, Debug)]
pub(crate) struct EngineSink {
    sink: Sink,
    engine: EngineName,
}

impl EngineSink {
    pub(crate) async fn closed(&self) {
        self.sink.closed().await;
    }
}
