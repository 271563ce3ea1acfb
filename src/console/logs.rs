//! The logs screen's origins. It opens on everything evaltop already holds
//! (the live buffer of `evaluation:{id}:logs`, the copy captured at the
//! container's death), then asks for the rest: Docker's stream, followed
//! while the container runs and merged with the live messages, or one read
//! of Docker, else `logs:{id}:latest`. In a replay nothing is asked: the
//! recording is all there is, and a read is never "refused". The richest
//! origin is shown unless the operator picked one (`o`); each is labelled.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Console, LogsScreen, Output, Screen, Tone};
use crate::actions::{ActionKind, LogOrigin, LogStreamEvent, LogWindow, Target};
use crate::model::{CapturedLogs, EvalId, StreamKind, TimedLine, Ts};
use crate::sanitize::clean_line;
use crate::view::log_view::{LogDocument, LogLine, LogSource, LogView, Merged, OriginKind};

/// Lines a log document keeps at most (its oldest go first).
pub const MAX_DOC_LINES: usize = 100_000;

/// Stream ids, so that lines of a stream closed meanwhile are ignored.
static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

/// How a document ranks for being shown: the one with more lines, then
/// the preferred origin. With no lines anywhere, the one that says why.
fn rank(doc: &LogDocument) -> (usize, bool, OriginKind) {
    (doc.len(), doc.following, doc.source.kind())
}

impl LogsScreen {
    fn new(
        eval_id: EvalId,
        docs: Vec<LogDocument>,
        window: LogWindow,
        from_detail: Option<crate::view::detail_view::DetailView>,
    ) -> Self {
        let mut docs = docs.into_iter();
        let first = docs
            .next()
            .unwrap_or_else(|| LogDocument::live(eval_id.clone(), MAX_DOC_LINES));
        let mut screen = LogsScreen {
            eval_id,
            view: LogView::new(),
            doc: first,
            fetching: false,
            fetched: None,
            others: docs.collect(),
            pinned: false,
            window,
            stream: None,
            from_detail,
        };
        screen.reselect();
        screen.view.replace_document(&screen.doc);
        screen
    }

    /// Every origin held, the one shown first.
    pub fn origins(&self) -> impl Iterator<Item = &LogDocument> {
        std::iter::once(&self.doc).chain(self.others.iter())
    }

    fn find_mut(&mut self, kind: OriginKind) -> Option<&mut LogDocument> {
        if self.doc.source.kind() == kind {
            return Some(&mut self.doc);
        }
        self.others.iter_mut().find(|d| d.source.kind() == kind)
    }

    /// Adds an origin, or replaces the one of the same kind.
    fn put(&mut self, doc: LogDocument) {
        let kind = doc.source.kind();
        if self.doc.source.kind() == kind {
            self.doc = doc;
            self.view.replace_document(&self.doc);
        } else if let Some(old) = self.others.iter_mut().find(|d| d.source.kind() == kind) {
            *old = doc;
        } else {
            self.others.push(doc);
        }
        self.reselect();
    }

    /// Shows the richest origin, unless the operator picked one.
    fn reselect(&mut self) {
        if self.pinned {
            return;
        }
        let best = self
            .others
            .iter()
            .enumerate()
            .max_by_key(|(_, d)| {
                let (lines, following, kind) = rank(d);
                // With nothing anywhere, the document that says why wins
                // over an empty buffer.
                let explains = lines == 0 && kind == OriginKind::Nothing;
                (lines, following, explains, kind)
            })
            .map(|(i, d)| (i, rank(d)));
        let (lines, following, kind) = rank(&self.doc);
        let shown = (
            lines,
            following,
            lines == 0 && kind == OriginKind::Nothing,
            kind,
        );
        if let Some((i, (l, f, k))) = best
            && (l, f, l == 0 && k == OriginKind::Nothing, k) > shown
        {
            self.show(i);
        }
    }

    /// Brings `others[i]` to the front.
    fn show(&mut self, i: usize) {
        std::mem::swap(&mut self.doc, &mut self.others[i]);
        // Keep the others in a stable order for `o`.
        let old = self.others.remove(i);
        self.others.push(old);
        self.view.replace_document(&self.doc);
    }

    /// `o`: the next origin held; it stays until `o` again.
    pub fn cycle_origin(&mut self, now: Ts) -> String {
        if self.others.is_empty() {
            return format!("only origin: {}", self.doc.source.label(now));
        }
        self.pinned = true;
        let old = std::mem::replace(&mut self.doc, self.others.remove(0));
        self.others.push(old);
        self.view.replace_document(&self.doc);
        format!(
            "origin: {} (o: next of {})",
            self.doc.source.label(now),
            self.others.len() + 1
        )
    }

    /// A live message: into the live buffer's document, and into Docker's
    /// followed stream (once: a line both have is shown once).
    pub(super) fn live_message(&mut self, at: Ts, content: &str) {
        let shown = self.doc.source.kind();
        let mut changed = Vec::new();
        if self.find_mut(OriginKind::Live).is_none() {
            self.others
                .push(LogDocument::live(self.eval_id.clone(), MAX_DOC_LINES));
        }
        for kind in [OriginKind::Live, OriginKind::Docker] {
            if let Some(doc) = self.find_mut(kind)
                && (kind == OriginKind::Live || doc.following)
            {
                changed.push((kind, doc.merge_text(StreamKind::Console, at, content, true)));
            }
        }
        for (kind, merged) in changed {
            if kind == shown {
                self.refresh_view(merged);
            }
        }
        self.reselect();
    }

    fn refresh_view(&mut self, merged: Merged) {
        match merged {
            Merged::Duplicate => {}
            Merged::AtEnd => self.view.on_new_lines(&self.doc),
            Merged::Inserted => self.view.replace_document(&self.doc),
        }
    }

    /// The logs recovered so far, for a forced failure's payload: what was
    /// read from a source, or what is shown when it is not the live buffer.
    pub fn recovered(&self, now: Ts) -> Option<CapturedLogs> {
        match self.doc.source.kind() {
            OriginKind::Docker | OriginKind::CapturedAtDeath | OriginKind::Latest
                if !self.doc.is_empty() =>
            {
                Some(self.doc.to_captured(now))
            }
            OriginKind::Docker
            | OriginKind::CapturedAtDeath
            | OriginKind::Latest
            | OriginKind::Live
            | OriginKind::Nothing => self.fetched.clone(),
        }
    }
}

/// A document of Docker's lines (with Docker's times).
fn docker_document(
    eval_id: EvalId,
    tty: bool,
    lines: Vec<TimedLine>,
    complete: bool,
    at: Ts,
) -> LogDocument {
    let source = LogSource::Fetched {
        origin: LogOrigin::Docker { tty },
        fetched_at: at,
    };
    let mut doc = LogDocument::new(eval_id, source, complete).bounded(MAX_DOC_LINES);
    for line in lines {
        doc.push_line(LogLine {
            stream: line.stream,
            at: line.at,
            text: line.text,
            live: false,
        });
    }
    doc
}

impl Console {
    /// The open detail's inline log excerpt, from what the state holds.
    pub(super) fn refresh_detail_logs(&mut self, now: Ts) {
        if let Screen::Detail(detail) = &mut self.views.screen {
            detail.logs = self.state.evals.get(&detail.eval_id).and_then(|record| {
                crate::view::log_excerpt::excerpt(
                    record,
                    self.state.live_logs.get(&detail.eval_id),
                    now,
                )
            });
        }
    }

    /// A live-buffer document for `eval_id`.
    fn live_document(&self, eval_id: &EvalId) -> LogDocument {
        let live = self.state.live_logs.get(eval_id);
        let chunks = live
            .into_iter()
            .flat_map(|log| log.chunks())
            .map(|chunk| (chunk.at, chunk.content.as_str()));
        let dropped = live.map_or(0, |log| log.evicted_bytes);
        LogDocument::from_chunks(eval_id.clone(), chunks, dropped).bounded(MAX_DOC_LINES)
    }

    /// What evaltop already holds of `eval_id`'s logs, each labelled.
    fn held_documents(&self, id: &EvalId, now: Ts) -> Vec<LogDocument> {
        let mut docs = Vec::new();
        let live = self.live_document(id);
        if !live.is_empty() {
            docs.push(live);
        }
        let record = self.state.evals.get(id);
        if let Some(logs) = record.and_then(|r| r.captured_logs.as_deref()) {
            let origin = LogOrigin::CapturedAtDeath {
                age_ms: now.since(logs.captured_at).max(0),
            };
            docs.push(LogDocument::fetched(
                id.clone(),
                origin,
                logs,
                !logs.truncated,
                now,
            ));
        }
        let latest = record.and_then(|r| r.redis.latest_log_seen_bytes);
        if self.replay.is_some() && (docs.is_empty() || latest.is_some_and(|b| b > 0)) {
            let mut why = if docs.is_empty() {
                "the recording holds no logs of this evaluation (no live message, no copy captured at death)".to_string()
            } else {
                "a recording keeps the size of logs:{id}:latest, not its content".to_string()
            };
            if let Some(bytes) = latest.filter(|b| *b > 0) {
                why.push_str(&format!("; logs:{{id}}:latest held {bytes} bytes"));
            }
            docs.push(LogDocument::new(id.clone(), LogSource::Absent(why), false));
        }
        docs
    }

    /// `l`: the logs view opens at once on what evaltop holds; Docker and
    /// Redis are asked for the rest (not in a replay).
    pub(super) fn open_logs(&mut self, now: Ts) -> Vec<Output> {
        let Some(id) = self.focused() else {
            self.say(now, Tone::Info, "no evaluation selected".into());
            return Vec::new();
        };
        let mut docs = self.held_documents(&id, now);
        let window = LogWindow::default();
        let running = self.replay.is_none()
            && self
                .state
                .evals
                .get(&id)
                .and_then(|r| r.container_state())
                .is_some_and(|s| s.is_live());
        if running {
            docs.push(self.following_document(&id, now));
        }
        let from_detail = match &self.views.screen {
            Screen::Detail(detail) => Some(detail.clone()),
            Screen::Logs(logs) => logs.from_detail.clone(),
            Screen::Table | Screen::Fleet { .. } => None,
        };
        self.views.screen = Screen::Logs(Box::new(LogsScreen::new(
            id.clone(),
            docs,
            window,
            from_detail,
        )));
        self.read_logs(&id, window, now)
    }

    /// An empty document for Docker's stream, with the live messages
    /// merged in already.
    fn following_document(&self, id: &EvalId, now: Ts) -> LogDocument {
        let tty = self
            .state
            .evals
            .get(id)
            .and_then(|r| r.docker.as_ref())
            .and_then(|d| d.tty)
            .unwrap_or(true);
        let mut doc = docker_document(id.clone(), tty, Vec::new(), false, now);
        doc.following = true;
        if let Some(live) = self.state.live_logs.get(id) {
            for chunk in live.chunks() {
                doc.merge_text(StreamKind::Console, chunk.at, &chunk.content, true);
            }
        }
        doc
    }

    /// Asks for `id`'s logs in `window`: Docker's stream while the
    /// container runs, else one read with its fallbacks; nothing in a
    /// replay.
    fn read_logs(&mut self, id: &EvalId, window: LogWindow, now: Ts) -> Vec<Output> {
        if self.replay.is_some() {
            return Vec::new();
        }
        let Some(record) = self.state.evals.get(id) else {
            return Vec::new();
        };
        let target = Target::of(id, record);
        let Screen::Logs(screen) = &mut self.views.screen else {
            return Vec::new();
        };
        if screen.doc.following || screen.others.iter().any(|d| d.following) {
            let stream_id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
            screen.stream = Some(stream_id);
            return vec![Output::FollowLogs {
                target,
                window,
                stream_id,
            }];
        }
        screen.fetching = true;
        let key = (ActionKind::FetchLogs, id.to_string());
        if !self.in_flight.insert(key) {
            return Vec::new();
        }
        self.effect_for(ActionKind::FetchLogs, id, "", now)
            .map(|effect| match effect {
                crate::actions::Effect::FetchLogs {
                    target, captured, ..
                } => crate::actions::Effect::FetchLogs {
                    target,
                    captured,
                    window,
                },
                other => other,
            })
            .map(Output::Run)
            .into_iter()
            .collect()
    }

    /// `T`: the next window of a long log (last lines, last minutes,
    /// everything), read again.
    pub(super) fn next_log_window(&mut self, now: Ts) -> Vec<Output> {
        let Screen::Logs(screen) = &mut self.views.screen else {
            return Vec::new();
        };
        screen.window = screen.window.next();
        let window = screen.window;
        let id = screen.eval_id.clone();
        let mut outputs = Vec::new();
        if screen.stream.take().is_some() {
            outputs.push(Output::StopFollow);
            // The stream starts again with the new window.
            if let Some(doc) = screen.find_mut(OriginKind::Docker) {
                let fresh = {
                    let mut fresh = docker_document(id.clone(), true, Vec::new(), false, now);
                    fresh.following = true;
                    fresh.source = doc.source.clone();
                    fresh
                };
                *doc = fresh;
            }
            screen.view.replace_document(&screen.doc);
        }
        screen.view.message = Some(if self.replay.is_some() {
            "a recording holds what it holds: no window to choose".to_string()
        } else {
            format!("reading {} from Docker", window.describe())
        });
        outputs.extend(self.read_logs(&id, window, now));
        outputs
    }

    /// Lines from the followed stream.
    pub(super) fn log_stream(&mut self, event: LogStreamEvent, now: Ts) -> Vec<Output> {
        let Screen::Logs(screen) = &mut self.views.screen else {
            return Vec::new();
        };
        if *screen.eval_id != *event.eval_id || screen.stream != Some(event.stream_id) {
            return Vec::new();
        }
        let id = screen.eval_id.clone();
        let window = screen.window;
        if screen.find_mut(OriginKind::Docker).is_none() {
            let mut doc = docker_document(id.clone(), event.tty, Vec::new(), false, now);
            doc.following = true;
            screen.others.push(doc);
        }
        let shown = screen.doc.source.kind() == OriginKind::Docker;
        let doc = screen.find_mut(OriginKind::Docker).expect("added above");
        if !event.lines.is_empty()
            && let LogSource::Fetched { origin, .. } = &mut doc.source
        {
            *origin = LogOrigin::Docker { tty: event.tty };
        }
        let mut result = Merged::Duplicate;
        for line in event.lines {
            let merged = doc.merge_line(LogLine {
                stream: line.stream,
                at: line.at,
                text: line.text,
                live: false,
            });
            result = match (result, merged) {
                (Merged::Inserted, _) | (_, Merged::Inserted) => Merged::Inserted,
                (Merged::AtEnd, _) | (_, Merged::AtEnd) => Merged::AtEnd,
                (Merged::Duplicate, Merged::Duplicate) => Merged::Duplicate,
            };
        }
        let mut outputs = Vec::new();
        match event.end {
            None => {}
            Some(Ok(())) => {
                // Docker ends a followed stream when the container stops:
                // everything in the window has been read.
                doc.following = false;
                let read = doc.lines().filter(|l| !l.live).count();
                doc.complete = match window {
                    LogWindow::All => true,
                    LogWindow::Tail(n) => read < n,
                    LogWindow::SinceSecs(_) => false,
                };
                if !doc.complete {
                    doc.missing = vec![format!("cut to the {}", window.describe())];
                }
                screen.stream = None;
            }
            Some(Err(error)) => {
                doc.following = false;
                doc.missing = vec![clean_line(&format!("Docker's stream failed: {error}"))];
                screen.stream = None;
                screen.view.message = Some("the stream failed: reading the logs once".into());
                outputs = self.fallback_read(&id, window, now);
            }
        }
        if let Screen::Logs(screen) = &mut self.views.screen {
            if shown {
                screen.refresh_view(result);
            }
            screen.reselect();
        }
        outputs
    }

    /// After a failed stream: one read, with its fallbacks.
    fn fallback_read(&mut self, id: &EvalId, window: LogWindow, now: Ts) -> Vec<Output> {
        if let Screen::Logs(screen) = &mut self.views.screen {
            for doc in std::iter::once(&mut screen.doc).chain(screen.others.iter_mut()) {
                doc.following = false;
            }
        }
        self.read_logs(id, window, now)
    }

    /// A read's answer: a new origin for the open logs.
    pub(super) fn logs_fetched(
        &mut self,
        id: &str,
        origin: LogOrigin,
        logs: CapturedLogs,
        complete: bool,
        lines: Vec<TimedLine>,
        at: Ts,
    ) {
        let Screen::Logs(screen) = &mut self.views.screen else {
            return;
        };
        if *screen.eval_id != *id {
            return;
        }
        screen.fetching = false;
        let eval_id = screen.eval_id.clone();
        let mut doc = match &origin {
            LogOrigin::Docker { tty } if !lines.is_empty() => {
                docker_document(eval_id, *tty, lines, complete, at)
            }
            LogOrigin::Docker { .. }
            | LogOrigin::CapturedAtDeath { .. }
            | LogOrigin::RedisLatest { .. }
            | LogOrigin::Nothing => {
                LogDocument::fetched(eval_id, origin.clone(), &logs, complete, at)
            }
        };
        if matches!(origin, LogOrigin::Docker { .. }) && !complete {
            doc.missing = vec![if logs.truncated {
                format!("cut to the {}", screen.window.describe())
            } else {
                "container still running".to_string()
            }];
        }
        if origin != LogOrigin::Nothing {
            screen.fetched = Some(logs);
        }
        screen.put(doc);
    }
}

#[cfg(test)]
mod tests;
