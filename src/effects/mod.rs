//! Runs triage actions against Docker and Redis, off the UI loop: each
//! effect in its own task, its outcome sent back as an event carrying what
//! happened. Every attempt and outcome is audited (file and stream). In
//! read-only mode no action that writes runs, and nothing at all is sent
//! to Redis or Docker for it.

mod audit;
mod docker;
mod logs;
mod redis;
mod reread;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc};
use tracing::Instrument;

use crate::actions::{ActionKind, AuditEntry, DEFAULT_WAIT, Effect, Outcome, Target};
use crate::engines::EngineSpec;
use crate::model::{EngineName, Ts};
use crate::names::Names;
use crate::sources::docker::DockerError;

/// The Redis stream the audit goes to, by default.
pub const DEFAULT_AUDIT_STREAM: &str = "evaltop:audit";
/// About how many entries the audit stream keeps (`MAXLEN ~`).
pub const DEFAULT_AUDIT_STREAM_MAXLEN: u64 = 10_000;

/// Where the audit goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditConfig {
    /// The JSON-lines file; `None` turns the file off.
    pub file: Option<PathBuf>,
    /// The Redis stream; `None` turns the stream off.
    pub stream: Option<String>,
    pub stream_maxlen: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            file: default_audit_file(),
            stream: Some(DEFAULT_AUDIT_STREAM.to_string()),
            stream_maxlen: DEFAULT_AUDIT_STREAM_MAXLEN,
        }
    }
}

/// `$XDG_STATE_HOME/evaltop/audit.jsonl` (`~/.local/state/...`); where the
/// platform has no state directory (macOS), the local data directory.
pub fn default_audit_file() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|dir| dir.join("evaltop").join("audit.jsonl"))
}

/// `user@host`, for the audit and the forced-failure metadata: the user
/// from `$USER` (or `$LOGNAME`, `$USERNAME`), else the login name of the
/// process's uid (cron and systemd units often set none of them), else
/// `uid N`.
pub fn operator() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .or_else(login_name)
        .unwrap_or_else(|| format!("uid {}", current_uid()));
    let host = gethostname::gethostname();
    crate::sanitize::clean_line(&format!("{}@{}", user.trim(), host.to_string_lossy()))
}

/// The operator as given (`--operator`, `EVALTOP_OPERATOR`), else as
/// found by `operator`.
pub fn resolve_operator(given: Option<&str>) -> String {
    match given.map(str::trim).filter(|g| !g.is_empty()) {
        Some(given) => crate::sanitize::clean_line(given),
        None => operator(),
    }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The login name of the process's real uid, from the password database.
pub fn login_name() -> Option<String> {
    let uid = current_uid();
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        // SAFETY: `pwd`, `buf` and `result` outlive the call, `buf.len()`
        // is the buffer's true size, and `pw_name` is read only when the
        // call filled `pwd` (result non-null), while `buf` still lives.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        let name = name.to_string_lossy().trim().to_string();
        return (!name.is_empty()).then_some(name);
    }
}

/// What the runner needs.
#[derive(Clone, Debug)]
pub struct EffectConfig {
    /// The engines an action may reach, by name: each action goes to the
    /// engine that holds its container.
    pub engines: Vec<EngineSpec>,
    pub redis_url: String,
    pub names: Names,
    /// No action that writes runs.
    pub read_only: bool,
    pub audit: AuditConfig,
    /// How long a kill waits for the container's `die` event.
    pub die_wait: Duration,
    /// `user@host`.
    pub operator: String,
}

impl EffectConfig {
    /// Defaults: the local engine, PROTOCOL.md's names, writes allowed,
    /// the default audit, a 5 s wait, this process's operator.
    pub fn new(redis_url: &str) -> Self {
        EffectConfig {
            engines: Vec::new(),
            redis_url: redis_url.to_string(),
            names: Names::default(),
            read_only: false,
            audit: AuditConfig::default(),
            die_wait: DEFAULT_WAIT,
            operator: operator(),
        }
    }
}

/// Why an effect could not do its work; carried in outcome summaries.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("invalid Redis URL {url}: {detail}")]
    InvalidUrl { url: String, detail: String },
    #[error("cannot reach Redis at {url}: {detail}")]
    RedisConnect { url: String, detail: String },
    #[error("Redis {command} failed: {detail}")]
    Redis {
        command: &'static str,
        detail: String,
    },
    #[error("Redis at {url} did not answer {what} within {secs}s")]
    Timeout {
        url: String,
        what: &'static str,
        secs: u64,
    },
}

/// Runs effects. Cheap to clone; clones share the Docker client, the audit
/// lock and the set of actions in flight.
#[derive(Clone)]
pub struct EffectRunner {
    inner: Arc<Inner>,
}

struct Inner {
    config: EffectConfig,
    redis: ::redis::Client,
    /// One client per engine, connected on first use, so that a read-only
    /// runner never talks to an engine for a refused action.
    dockers: Vec<(EngineSpec, OnceCell<::bollard::Docker>)>,
    /// Serialises appends to the audit file across concurrent effects.
    audit_file: tokio::sync::Mutex<()>,
    /// (action, eval id) of effects running: a second one is coalesced.
    in_flight: Mutex<HashSet<(ActionKind, String)>>,
}

impl EffectRunner {
    /// Builds the runner; does no IO. Fails only on a malformed Redis URL.
    pub fn new(config: EffectConfig) -> Result<Self, EffectError> {
        let redis = ::redis::Client::open(config.redis_url.as_str()).map_err(|e| {
            EffectError::InvalidUrl {
                url: crate::sources::redis::redact_url(&config.redis_url),
                detail: e.to_string(),
            }
        })?;
        Ok(EffectRunner {
            inner: Arc::new(Inner {
                dockers: config
                    .engines
                    .iter()
                    .map(|engine| (engine.clone(), OnceCell::new()))
                    .collect(),
                config,
                redis,
                audit_file: tokio::sync::Mutex::new(()),
                in_flight: Mutex::new(HashSet::new()),
            }),
        })
    }

    pub fn config(&self) -> &EffectConfig {
        &self.inner.config
    }

    /// Runs `effect` in its own task and sends its outcome on `outcomes`.
    /// Returns false, and runs nothing, when the same action on the same
    /// evaluation is still in flight (a repeated key press).
    pub fn spawn(&self, effect: Effect, outcomes: mpsc::Sender<Outcome>) -> bool {
        let key = (effect.kind(), effect.target().eval_id.clone());
        if !self.in_flight().insert(key.clone()) {
            tracing::debug!(action = key.0.name(), eval_id = %key.1, "action already in flight");
            return false;
        }
        let runner = self.clone();
        tokio::spawn(async move {
            let outcome = runner.run(effect).await;
            runner.in_flight().remove(&key);
            if outcomes.send(outcome).await.is_err() {
                tracing::debug!("outcome dropped: the app has gone");
            }
        });
        true
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(ActionKind, String)>> {
        // A panic while holding this lock leaves a plain set behind: still
        // usable, so poisoning is ignored.
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `effect` and returns its outcome: audits the attempt, runs the
    /// action (unless read-only forbids it), audits the outcome.
    pub async fn run(&self, effect: Effect) -> Outcome {
        let target = effect.target();
        let span = tracing::info_span!(
            "effect",
            action = effect.kind().name(),
            eval_id = %target.eval_id,
            container_id = target.container_id.as_deref().unwrap_or(""),
            engine = target.engine.as_ref().map_or("", EngineName::as_str),
        );
        self.run_audited(effect).instrument(span).await
    }

    async fn run_audited(&self, effect: Effect) -> Outcome {
        let config = &self.inner.config;
        let blocked = config.read_only && effect.kind().writes();
        let mut link = redis::Link::new(&self.inner.redis, &config.redis_url);
        let mut audit_errors = Vec::new();
        let attempt = AuditEntry::attempt(&effect, &config.operator, blocked, Ts::now());
        self.audit(&attempt, &mut link, &mut audit_errors).await;
        let mut outcome = if blocked {
            Outcome::read_only(effect.kind(), effect.target().clone(), Ts::now())
        } else {
            self.execute(&effect, &mut link).await
        };
        tracing::info!(ok = outcome.ok, summary = %outcome.summary, "action done");
        let entry = AuditEntry::outcome(&effect, &outcome, &config.operator, blocked);
        self.audit(&entry, &mut link, &mut audit_errors).await;
        if !audit_errors.is_empty() {
            outcome.audit_error = Some(audit_errors.join("; "));
        }
        outcome
    }

    async fn execute(&self, effect: &Effect, link: &mut redis::Link<'_>) -> Outcome {
        match effect {
            Effect::Kill { target, signal } => docker::kill(self, target, signal).await,
            Effect::Remove { target } => docker::remove(self, target).await,
            Effect::FetchLogs {
                target,
                captured,
                window,
            } => logs::fetch(self, link, target, captured.as_ref(), *window).await,
            Effect::ForceFail {
                target,
                payload,
                wait,
            } => redis::force_fail(self, link, target, payload, *wait).await,
            Effect::CleanRunning { target } => redis::clean_running(self, link, target).await,
        }
    }

    /// Follows a running container's log in its own task, sending its
    /// lines on `tx` until the container stops; abort the handle to stop
    /// it sooner. A read: nothing is audited, and read-only allows it.
    pub fn follow_logs(
        &self,
        target: crate::actions::Target,
        window: crate::actions::LogWindow,
        stream_id: u64,
        tx: mpsc::Sender<crate::actions::LogStreamEvent>,
    ) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        let span = tracing::info_span!("follow-logs", eval_id = %target.eval_id);
        tokio::spawn(
            async move { logs::follow(&runner, &target, window, stream_id, tx).await }
                .instrument(span),
        )
    }

    /// Re-reads `target`'s container and the Redis keys in its own task,
    /// sending what they say on `tx` as observations (after an action, so
    /// that the flags follow it at once). A read: not audited.
    pub fn reread(
        &self,
        target: crate::actions::Target,
        tx: mpsc::Sender<crate::sources::Received>,
    ) {
        let runner = self.clone();
        let span = tracing::info_span!("reread", eval_id = %target.eval_id);
        tokio::spawn(
            async move {
                for observation in reread::reread(&runner, &target).await {
                    if tx
                        .send(crate::sources::Received::now(observation))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            .instrument(span),
        );
    }

    /// The engine an action on `target` goes to (see `docker`).
    fn engine_of(&self, target: &Target) -> Option<EngineName> {
        let engines = &self.inner.dockers;
        match &target.engine {
            Some(name) => engines.iter().find(|(spec, _)| spec.name == *name),
            None if engines.len() == 1 => engines.first(),
            None => None,
        }
        .map(|(spec, _)| spec.name.clone())
    }

    /// The client of the engine that holds the target's container,
    /// connected on first use. A target whose engine is not known goes
    /// nowhere, unless there is one engine only: then there is no choice.
    async fn docker(&self, target: &Target) -> Result<::bollard::Docker, DockerError> {
        let engines = &self.inner.dockers;
        let found = match &target.engine {
            Some(name) => engines.iter().find(|(spec, _)| spec.name == *name),
            None if engines.len() == 1 => engines.first(),
            None => None,
        };
        let Some((spec, client)) = found else {
            let known: Vec<&str> = engines.iter().map(|(s, _)| s.name.as_str()).collect();
            return Err(DockerError::NoEngine {
                engine: target.engine.as_ref().map(EngineName::to_string),
                known: known.join(", "),
            });
        };
        client
            .get_or_try_init(|| crate::sources::docker::connect(Some(&spec.url)))
            .await
            .cloned()
    }
}

/// "5 s", "1.5 s": how long something was waited for.
fn seconds(wait: Duration) -> String {
    let secs = wait.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

#[cfg(test)]
mod tests;
