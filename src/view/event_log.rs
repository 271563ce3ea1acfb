//! The events pane's content: a bounded tail of one-line summaries of the
//! observations from both sources, like `docker events` for evaluations,
//! and the pane's scroll position. The summaries of pub/sub messages, which
//! come by the hundred thousand a second in a flood, are kept as their
//! facts and worded when shown: only the lines drawn cost any wording.
//! The rest are worded once, when pushed.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::model::{
    ContainerAction, ContainerState, EvalId, Observation, Severity, Source, Status, Ts,
};
use crate::sanitize::clean_line;

/// Lines kept by default.
pub const DEFAULT_CAPACITY: usize = 2_000;

/// One observation, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct EventLine {
    /// When evaltop received it.
    pub at: Ts,
    pub source: Source,
    /// The evaluation it is about, if it is about one.
    pub eval_id: Option<EvalId>,
    what: What,
    /// How loud it is: a failure or a kill is a warning, a lost connection
    /// or a rejected payload an alarm.
    pub tone: Option<Severity>,
}

impl EventLine {
    /// What happened, without the source the pane shows in its own column:
    /// e.g. `die exit=1`, `evaluation:failed exit=137`.
    pub fn what(&self) -> Cow<'_, str> {
        self.what.text()
    }
}

impl What {
    fn text(&self) -> Cow<'_, str> {
        match self {
            What::Worded(text) => Cow::Borrowed(text),
            What::Status {
                channel,
                status,
                exit_code,
                manual,
            } => {
                let mut what = format!("evaluation:{}", channel.name());
                if let Some(status) = status {
                    what.push_str(&format!(" status={}", status.name()));
                }
                if let Some(code) = exit_code {
                    what.push_str(&format!(" exit={code}"));
                }
                if *manual {
                    what.push_str(" manual");
                }
                Cow::Owned(what)
            }
            What::Log {
                heartbeat,
                sequence,
                bytes,
                is_final,
            } => {
                let mut what = if *heartbeat { "heartbeat" } else { "log" }.to_string();
                if let Some(sequence) = sequence {
                    what.push_str(&format!(" #{sequence}"));
                }
                if !heartbeat {
                    what.push_str(&format!(" {bytes} bytes"));
                }
                if *is_final {
                    what.push_str(" final");
                }
                Cow::Owned(what)
            }
        }
    }
}

/// A summary: worded, or the facts of a pub/sub message to word when
/// shown (they hold nothing from outside but numbers and known names, so
/// they need no cleaning).
#[derive(Clone, Debug, PartialEq)]
enum What {
    Worded(String),
    Status {
        channel: Status,
        /// The payload's status, when it differs from the channel's.
        status: Option<Status>,
        exit_code: Option<i64>,
        manual: bool,
    },
    Log {
        heartbeat: bool,
        sequence: Option<i64>,
        bytes: usize,
        is_final: bool,
    },
}

/// A ring of the newest lines, and how far the pane is scrolled back.
#[derive(Clone, Debug)]
pub struct EventLog {
    lines: VecDeque<EventLine>,
    capacity: usize,
    /// Lines between the newest and the bottom of the pane: 0 follows the
    /// tail.
    scroll: usize,
    /// Lines pushed since the start, evicted ones included.
    pushed: u64,
    /// The pane lists the rejected payloads (channel and reason) instead
    /// of the events.
    pub rejected_only: bool,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog::new(DEFAULT_CAPACITY)
    }
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        EventLog {
            lines: VecDeque::with_capacity(capacity.min(DEFAULT_CAPACITY)),
            capacity: capacity.max(1),
            scroll: 0,
            pushed: 0,
            rejected_only: false,
        }
    }

    /// Summarises `observation`, received at `at`. Call it before
    /// `State::apply`, which takes the observation.
    pub fn push(&mut self, at: Ts, observation: &Observation) {
        self.push_with(at, observation, |_| None);
    }

    /// Like [`EventLog::push`], with `known` to find the evaluation's id
    /// where one is kept already (the state's): at Redis's rate, a copy
    /// of each id was a third of the pane's cost.
    pub fn push_with(
        &mut self,
        at: Ts,
        observation: &Observation,
        known: impl Fn(&str) -> Option<EvalId>,
    ) {
        // A liveness probe answers every second: the header shows it, the
        // log would drown in it.
        if matches!(
            observation,
            Observation::SourceLive { .. }
                | Observation::SourceLag { .. }
                | Observation::SourceProgress { .. }
        ) {
            return;
        }
        let (source, eval_id, what, tone) = match facts_of(observation) {
            Some(facts) => facts,
            None => {
                let (source, eval_id, what, tone) = summarise(observation);
                let what = What::Worded(worded(&source, what));
                (source, eval_id, what, tone)
            }
        };
        let eval_id = eval_id.filter(|id| !id.is_empty()).map(|id| {
            if let Some(known) = known(id) {
                known
            } else if id.chars().any(char::is_control) {
                EvalId::from(clean_line(id))
            } else {
                EvalId::from(id)
            }
        });
        if self.lines.len() >= self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(EventLine {
            at,
            source,
            eval_id,
            what,
            tone,
        });
        self.pushed += 1;
        if self.scroll > 0 {
            // Scrolled back: keep the same lines in view.
            self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1));
        }
    }

    /// Oldest first.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &EventLine> + ExactSizeIterator {
        self.lines.iter()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lines pushed in all, including those the ring has let go.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// How many lines the pane is scrolled back from the newest.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// True when the pane shows the newest line.
    pub fn is_following(&self) -> bool {
        self.scroll == 0
    }

    /// Towards older lines, no further than a pane of `height` lines full
    /// of the oldest: never past the first line into a blank pane.
    pub fn scroll_up(&mut self, lines: usize, height: usize) {
        let max = self.lines.len().saturating_sub(height.max(1));
        self.scroll = self.scroll.saturating_add(lines).min(max);
    }

    /// Towards newer lines; reaching the newest resumes following.
    pub fn scroll_down(&mut self, lines: usize) {
        self.scroll = self.scroll.saturating_sub(lines);
    }

    pub fn follow(&mut self) {
        self.scroll = 0;
    }

    /// The lines that fill `height` rows at the current scroll position,
    /// oldest first, ending `scroll` lines before the newest.
    /// A pane that grew, or lines the ring let go, never leave it part
    /// blank: the scroll stops where the oldest line is at the top.
    pub fn window(&self, height: usize) -> impl Iterator<Item = &EventLine> {
        let scroll = self.scroll.min(self.lines.len().saturating_sub(height));
        let end = self.lines.len().saturating_sub(scroll);
        let start = end.saturating_sub(height);
        self.lines.range(start..end)
    }
}

/// The summary of a line worded when pushed: without the source, which
/// the pane has a column for, and without control characters.
fn worded(source: &Source, what: String) -> String {
    let what = match what.strip_prefix(source.name()) {
        Some(rest) if rest.starts_with(' ') => rest.trim_start().to_string(),
        Some(_) | None => what,
    };
    // The summary quotes labels, channels and reasons that arrived from
    // outside; a control character must never reach the terminal.
    if what.chars().any(char::is_control) {
        clean_line(&what)
    } else {
        what
    }
}

type Facts<'a> = (Source, Option<&'a str>, What, Option<Severity>);

/// The line of a pub/sub message, as facts to word when shown.
fn facts_of(observation: &Observation) -> Option<Facts<'_>> {
    match observation {
        Observation::RedisStatus {
            channel_status,
            message,
        } => {
            let failed = message.status.unwrap_or(*channel_status).is_failure()
                || *channel_status == Status::Failed;
            let what = What::Status {
                channel: *channel_status,
                status: message.status.filter(|s| s != channel_status),
                exit_code: message.exit_code,
                manual: message.manual_update,
            };
            Some((
                Source::Redis,
                Some(&message.eval_id),
                what,
                failed.then_some(Severity::Warning),
            ))
        }
        Observation::RedisLog(log) => {
            let what = What::Log {
                heartbeat: log.is_heartbeat,
                sequence: log.sequence,
                bytes: log.content.len(),
                is_final: log.is_final,
            };
            Some((Source::Redis, Some(&log.eval_id), what, None))
        }
        _ => None,
    }
}

type Summary<'a> = (Source, Option<&'a str>, String, Option<Severity>);

/// The line for an observation; a Docker one names its engine first, so
/// that the engines of a fleet are told apart.
fn summarise(observation: &Observation) -> Summary<'_> {
    let (source, eval_id, what, tone) = summarise_one(observation);
    let what = match observation.engine() {
        Some(engine) if !engine.is_unnamed() => format!("{engine}: {what}"),
        Some(_) | None => what,
    };
    (source, eval_id, what, tone)
}

fn summarise_one(observation: &Observation) -> Summary<'_> {
    let docker = || Source::Docker(observation.engine().cloned().unwrap_or_default());
    let warn = Some(Severity::Warning);
    let alarm = Some(Severity::Alarm);
    match observation {
        Observation::DockerList { containers, .. } => {
            let running = containers
                .iter()
                .filter(|c| c.state.is_some_and(ContainerState::is_live))
                .count();
            let ended = containers
                .iter()
                .filter(|c| c.state.is_some_and(ContainerState::has_ended))
                .count();
            let what = format!(
                "docker list: {} containers, {running} running, {ended} exited",
                containers.len()
            );
            (docker(), None, what, None)
        }
        Observation::DockerEvent(event) => {
            let mut what = format!("docker {}", event.action.name());
            if let Some(code) = event.exit_code_attr {
                what.push_str(&format!(" exit={code}"));
            }
            if let Some(signal) = &event.signal {
                what.push_str(&format!(" signal={signal}"));
            }
            let tone = match event.action {
                ContainerAction::Oom | ContainerAction::Kill => warn,
                ContainerAction::Die => event.exit_code_attr.filter(|c| *c != 0).and(warn),
                _ => None,
            };
            (docker(), Some(&event.eval_id), what, tone)
        }
        Observation::DockerInspect(facts) => {
            let mut what = format!(
                "docker inspect: {}",
                facts.state.map_or("unknown", ContainerState::name)
            );
            if let Some(code) = facts.exit_code {
                what.push_str(&format!(" exit={code}"));
            }
            if facts.oom_killed == Some(true) {
                what.push_str(" oom-killed");
            }
            (docker(), Some(&facts.eval_id), what, None)
        }
        Observation::DockerGone { eval_id, .. } => (
            docker(),
            Some(eval_id),
            "docker gone: container removed".to_string(),
            None,
        ),
        Observation::DockerLogs { eval_id, logs, .. } => {
            let stream = if logs.tty { "console" } else { "stdout+stderr" };
            let cut = if logs.truncated { ", tail kept" } else { "" };
            let what = format!("docker logs: {} bytes {stream}{cut}", logs.total_bytes);
            (docker(), Some(eval_id), what, None)
        }
        // Pushed as facts (`facts_of`); worded the same way here.
        Observation::RedisStatus { .. } | Observation::RedisLog(_) => {
            let (source, eval_id, what, tone) = facts_of(observation).expect("a pub/sub message");
            let what = format!("{} {}", source.name(), what.text());
            (source, eval_id, what, tone)
        }
        Observation::RedisStorage(storage) => {
            let mut what = format!("redis storage:evaluation:{}", storage.kind);
            if let Some(status) = storage.status {
                what.push_str(&format!(" status={}", status.name()));
            }
            (Source::Redis, Some(&storage.eval_id), what, None)
        }
        Observation::RedisKeys(snapshot) => {
            let what = format!(
                "redis keys: {} running, {} pending",
                snapshot.running_set.len(),
                snapshot.pending.len()
            );
            (Source::Redis, None, what, None)
        }
        Observation::Rejected(rejection) => {
            let what = format!("rejected {}: {}", rejection.channel, rejection.reason);
            (rejection.source.clone(), None, what, alarm)
        }
        Observation::SourceUp { source, detail } => {
            let what = format!("{} up: {detail}", source.name());
            (source.clone(), None, what, None)
        }
        Observation::SourceDown { source, reason } => {
            let what = format!("{} down: {reason}", source.name());
            (source.clone(), None, what, alarm)
        }
        Observation::SourceUnanswered { source, reason } => {
            let what = format!("{} not answering: {reason}", source.name());
            (source.clone(), None, what, alarm)
        }
        Observation::SourceLive { source, probed_at } => {
            let what = format!(
                "{} answered a probe sent at {}",
                source.name(),
                probed_at.clock()
            );
            (source.clone(), None, what, None)
        }
        Observation::SourceLag {
            source,
            waiting,
            oldest_ms,
        } => {
            let what = format!(
                "{} {waiting} behind, oldest {}",
                source.name(),
                crate::model::human_duration(*oldest_ms)
            );
            (source.clone(), None, what, None)
        }
        Observation::SourceProgress { source, progress } => {
            let what = format!("{} {}", source.name(), progress.describe());
            (source.clone(), None, what, None)
        }
        Observation::DockerStreamMissed {
            missed, example, ..
        } => {
            let what = format!(
                "docker event stream missed {missed} changes (e.g. {example}): restarting it"
            );
            (docker(), None, what, alarm)
        }
        Observation::Killed {
            eval_id,
            container_id,
            signal,
        } => {
            let short = crate::model::short_container_id(container_id);
            let what = format!("evaltop killed container {short} ({signal})");
            (Source::Evaltop, Some(eval_id), what, None)
        }
    }
}
