//! Starting actions (with their refusals and confirmation dialogs) and
//! taking their outcomes back: into the status line, the evaluation's
//! timeline and, for logs, the log viewer.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::dialog::{Dialog, DialogStage};
use super::{Batch, Console, Output, Screen, Tone};
use crate::actions::{
    ActionKind, DEFAULT_WAIT, Effect, ForceFailRequest, Outcome, OutcomeDetail, Target,
    prefilled_reason, refusal,
};
use crate::model::{EvalId, Flag, HealthContext, Ts, assess, human_duration, short_container_id};

/// Targets listed one by one in a dialog; the rest are counted.
const LISTED_TARGETS: usize = 8;

/// An action that writes, and so asks first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AskedAction {
    Kill,
    Remove,
    ForceFail,
}

impl AskedAction {
    fn kind(self) -> ActionKind {
        match self {
            AskedAction::Kill => ActionKind::Kill,
            AskedAction::Remove => ActionKind::Remove,
            AskedAction::ForceFail => ActionKind::ForceFail,
        }
    }
}

impl Console {
    /// The flags of `eval_id` at `now`.
    pub fn flags_of(&self, eval_id: &str, now: Ts) -> Vec<Flag> {
        let ctx = HealthContext::of(&self.state, now);
        self.state
            .evals
            .get(eval_id)
            .map(|record| assess(record, &ctx))
            .unwrap_or_default()
    }

    /// The evaluations an action applies to: the marked ones when any (in
    /// the table), else the focused one.
    fn targets(&self) -> Vec<EvalId> {
        if matches!(self.views.screen, Screen::Table) && !self.views.marks.is_empty() {
            self.views.marks.iter().cloned().collect()
        } else {
            self.focused().into_iter().collect()
        }
    }

    pub(super) fn start_action(&mut self, action: AskedAction, now: Ts) -> Vec<Output> {
        let kind = action.kind();
        if let Some(why) = &self.config.read_only {
            let text = format!("{} is off: {why}", kind.name());
            self.say(now, Tone::Bad, text);
            return Vec::new();
        }
        let ids = self.targets();
        if ids.is_empty() {
            self.say(now, Tone::Info, "no evaluation selected".into());
            return Vec::new();
        }
        let mut lines = Vec::new();
        let mut warnings = Vec::new();
        let mut targets = Vec::new();
        for id in &ids {
            let Some(record) = self.state.evals.get(id) else {
                continue;
            };
            if self.in_flight.contains(&(kind, id.to_string())) {
                warnings.push(format!(
                    "{id}: a {} is already running; skipped",
                    kind.name()
                ));
                continue;
            }
            match refusal(kind, record) {
                Some(refused) if !refused.overridable => {
                    warnings.push(format!("{id}: skipped: {}", refused.reason));
                    continue;
                }
                Some(refused) => warnings.push(format!("{id}: {}", refused.reason)),
                None => {}
            }
            if lines.len() < LISTED_TARGETS {
                lines.push(self.describe_target(id, now));
            }
            targets.push(id.clone());
        }
        if targets.is_empty() {
            let text = warnings.join("; ");
            self.say(now, Tone::Bad, format!("{} refused: {text}", kind.name()));
            return Vec::new();
        }
        if targets.len() > LISTED_TARGETS {
            lines.push(format!("… and {} more", targets.len() - LISTED_TARGETS));
        }
        let hidden = targets
            .iter()
            .filter(|id| !self.views.table.rows().iter().any(|row| row.id == **id))
            .count();
        let what = match action {
            AskedAction::Kill => format!("Send {} to the container of", self.config.kill_signal),
            AskedAction::Remove => "Force-remove the container of".to_string(),
            AskedAction::ForceFail => "Publish evaluation:failed (manual_update) for".to_string(),
        };
        let mut title = format!("{what} {} evaluation(s)", targets.len());
        if hidden > 0 {
            title.push_str(&format!(" — {hidden} of them hidden by the current filter"));
        }
        let stage = if kind == ActionKind::ForceFail {
            let text = self.reason_for(&targets, now);
            DialogStage::Reason {
                cursor: text.chars().count(),
                text,
            }
        } else {
            DialogStage::Confirm
        };
        let effects = if kind == ActionKind::ForceFail {
            Vec::new()
        } else {
            targets
                .iter()
                .filter_map(|id| self.effect_for(kind, id, "", now))
                .collect()
        };
        self.views.dialog = Some(Dialog {
            kind,
            title,
            lines,
            warnings,
            stage,
            effects,
            targets: targets.iter().map(|id| id.to_string()).collect(),
        });
        Vec::new()
    }

    /// "eval_x · executor-2 · container 1a2b3c4d5e6f running · +41s over".
    fn describe_target(&self, id: &str, now: Ts) -> String {
        let Some(record) = self.state.evals.get(id) else {
            return id.to_string();
        };
        let mut parts = vec![id.to_string()];
        if let Some(executor) = record.executor() {
            parts.push(executor.to_string());
        }
        if let Some(container) = record.container_id() {
            let state = record.container_state().map_or("unknown", |s| s.name());
            let engine = record
                .engine()
                .filter(|e| !e.is_unnamed())
                .map_or(String::new(), |e| format!(" on {e}"));
            parts.push(format!(
                "container {}{engine} {state}",
                short_container_id(container)
            ));
        }
        if let Some(status) = record.redis.status {
            parts.push(format!("status {}", status.name()));
        }
        if let Some(deadline) = record.docker.as_ref().and_then(|d| d.deadline())
            && record.container_state().is_some_and(|s| s.is_live())
            && now > deadline
        {
            parts.push(format!(
                "+{} over its timeout",
                human_duration(now.since(deadline))
            ));
        }
        let flags: Vec<&str> = self
            .flags_of(id, now)
            .iter()
            .map(|f| f.kind().name())
            .collect();
        if !flags.is_empty() {
            parts.push(flags.join(","));
        }
        parts.join(" · ")
    }

    /// The reason a forced failure is prefilled with.
    fn reason_for(&self, targets: &[EvalId], now: Ts) -> String {
        match targets {
            [id] => match self.state.evals.get(id) {
                Some(record) => prefilled_reason(record, &self.flags_of(id, now)),
                None => "forced failed by an operator".to_string(),
            },
            _ => format!(
                "forced failed by an operator ({} evaluations)",
                targets.len()
            ),
        }
    }

    pub(super) fn effect_for(
        &self,
        kind: ActionKind,
        id: &str,
        reason: &str,
        now: Ts,
    ) -> Option<Effect> {
        let record = self.state.evals.get(id)?;
        let target = Target::of(id, record);
        Some(match kind {
            ActionKind::Kill => Effect::Kill {
                target,
                signal: self.config.kill_signal.clone(),
            },
            ActionKind::Remove => Effect::Remove { target },
            ActionKind::CleanRunning => Effect::CleanRunning { target },
            ActionKind::FetchLogs => Effect::FetchLogs {
                target,
                captured: record.captured_logs.as_deref().cloned(),
                window: crate::actions::LogWindow::default(),
            },
            ActionKind::ForceFail => {
                let flags = self.flags_of(id, now);
                let recovered = match &self.views.screen {
                    Screen::Logs(logs) if *logs.eval_id == *id => logs.recovered(now),
                    _ => None,
                };
                let recovered = recovered.as_ref();
                Effect::force_fail(
                    &ForceFailRequest {
                        eval_id: id,
                        record,
                        reason,
                        flags: &flags,
                        operator: &self.config.operator,
                        now,
                        recovered,
                    },
                    DEFAULT_WAIT,
                )
            }
        })
    }

    pub(super) fn dialog_key(&mut self, key: KeyEvent, now: Ts) -> Vec<Output> {
        let Some(dialog) = self.views.dialog.as_mut() else {
            return Vec::new();
        };
        if let DialogStage::Reason { text, cursor } = &mut dialog.stage {
            match key.code {
                KeyCode::Esc => self.cancel_dialog(now),
                KeyCode::Enter if !text.trim().is_empty() => {
                    let reason = text.trim().to_string();
                    let targets = dialog.targets.clone();
                    let effects: Vec<Effect> = targets
                        .iter()
                        .filter_map(|id| self.effect_for(ActionKind::ForceFail, id, &reason, now))
                        .collect();
                    if let Some(dialog) = self.views.dialog.as_mut() {
                        dialog.lines.push(format!("reason: {reason}"));
                        dialog.effects = effects;
                        dialog.stage = DialogStage::Confirm;
                    }
                }
                code => edit_text(text, cursor, code, key.modifiers),
            }
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('y') if key.modifiers.difference(KeyModifiers::SHIFT).is_empty() => {
                if dialog.stage == DialogStage::Confirm && !dialog.warnings.is_empty() {
                    dialog.stage = DialogStage::ConfirmAgain;
                    return Vec::new();
                }
                let dialog = self.views.dialog.take().expect("checked above");
                self.confirm(dialog, now)
            }
            KeyCode::Char('n') | KeyCode::Esc => {
                self.cancel_dialog(now);
                Vec::new()
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                vec![Output::Quit]
            }
            _ => Vec::new(),
        }
    }

    fn cancel_dialog(&mut self, now: Ts) {
        if let Some(dialog) = self.views.dialog.take() {
            self.say(now, Tone::Info, format!("{} cancelled", dialog.kind.name()));
        }
    }

    fn confirm(&mut self, dialog: Dialog, now: Ts) -> Vec<Output> {
        let mut outputs = Vec::new();
        for effect in dialog.effects {
            let key = (effect.kind(), effect.target().eval_id.clone());
            if !self.in_flight.insert(key) {
                continue;
            }
            let id = effect.target().eval_id.clone();
            self.note(
                &id,
                now,
                format!(
                    "{} requested by {}",
                    effect.kind().name(),
                    self.config.operator
                ),
            );
            outputs.push(Output::Run(effect));
        }
        let started: Vec<String> = outputs
            .iter()
            .filter_map(|output| match output {
                Output::Run(effect) => Some(effect.target().eval_id.clone()),
                _ => None,
            })
            .collect();
        if started.len() > 1 {
            self.batches.push(Batch {
                kind: dialog.kind,
                waiting: started.iter().cloned().collect(),
                ok: 0,
                first_failure: None,
                failed: 0,
            });
        }
        let text = format!("{}: {} started", dialog.kind.name(), outputs.len());
        self.say(now, Tone::Info, text);
        outputs
    }

    /// Counts `outcome` in its batch, if it belongs to one; the batch's
    /// summary once its last answer is in, else `None` (a single action
    /// speaks for itself).
    fn count_in_batch(&mut self, outcome: &Outcome) -> Option<Option<(Tone, String)>> {
        let id = &outcome.target.eval_id;
        let index = self
            .batches
            .iter()
            .position(|b| b.kind == outcome.kind && b.waiting.contains(id))?;
        let batch = &mut self.batches[index];
        batch.waiting.remove(id);
        if outcome.ok {
            batch.ok += 1;
        } else {
            batch.failed += 1;
            batch
                .first_failure
                .get_or_insert_with(|| (id.clone(), outcome.summary.clone()));
        }
        if !batch.waiting.is_empty() {
            return Some(None);
        }
        let batch = self.batches.remove(index);
        let mut text = format!("{}: {} ok", batch.kind.name(), batch.ok);
        let tone = match &batch.first_failure {
            Some((id, reason)) => {
                text.push_str(&format!(", {} failed: {id}: {reason}", batch.failed));
                Tone::Bad
            }
            None => Tone::Good,
        };
        Some(Some((tone, text)))
    }

    pub(super) fn outcome(&mut self, outcome: Outcome, now: Ts) -> Vec<Output> {
        let id = outcome.target.eval_id.clone();
        self.in_flight.remove(&(outcome.kind, id.clone()));
        let mut summary = format!("{} {id}: {}", outcome.kind.name(), outcome.summary);
        if let Some(error) = &outcome.audit_error {
            summary.push_str(&format!(" (audit failed: {error})"));
        }
        let tone = if outcome.ok && outcome.audit_error.is_none() {
            Tone::Good
        } else {
            Tone::Bad
        };
        if outcome.ok && outcome.kind != ActionKind::FetchLogs {
            // Done with: it needs no mark any more.
            self.views.marks.remove(id.as_str());
        }
        match self.count_in_batch(&outcome) {
            None => self.say(now, tone, summary),
            Some(Some((tone, text))) => self.say(now, tone, text),
            // More answers to come; a failed audit is said at once.
            Some(None) if outcome.audit_error.is_some() => self.say(now, Tone::Bad, summary),
            Some(None) => {}
        }
        self.note(
            &id,
            now,
            format!("{}: {}", outcome.kind.name(), outcome.summary),
        );
        // An action that changed Docker or Redis: read them again now, so
        // that the flags follow it at once instead of at the next resync.
        let mut outputs = Vec::new();
        let changed = match &outcome.detail {
            OutcomeDetail::Kill { .. } | OutcomeDetail::Remove { .. } => true,
            OutcomeDetail::ForceFail { confirmed, .. } => *confirmed,
            OutcomeDetail::CleanRunning { .. } => true,
            OutcomeDetail::None | OutcomeDetail::ReadOnly | OutcomeDetail::Logs { .. } => false,
        };
        if changed {
            outputs.push(Output::Reread(outcome.target.clone()));
        }
        match outcome.detail {
            OutcomeDetail::Logs {
                origin,
                logs,
                complete,
                lines,
            } => self.logs_fetched(&id, origin, logs, complete, lines, outcome.at),
            OutcomeDetail::Kill {
                already_ended: false,
                ..
            } if outcome.ok => {
                // The operator's kill ended it: its death is not a timeout.
                let container_id = outcome.target.container_id.clone().unwrap_or_default();
                let signal = self.config.kill_signal.clone();
                self.observe(crate::sources::Received {
                    at: now,
                    observation: crate::model::Observation::Killed {
                        eval_id: id.clone(),
                        container_id,
                        signal,
                    },
                });
            }
            OutcomeDetail::ForceFail {
                offer_clean: true, ..
            } if self.config.read_only.is_none() => {
                self.offer_clean(&id, now);
            }
            _ => {}
        }
        outputs
    }

    /// After an unconfirmed forced failure: offer to clean the Redis
    /// running state directly, itself confirmed.
    fn offer_clean(&mut self, id: &str, now: Ts) {
        let Some(effect) = self.effect_for(ActionKind::CleanRunning, id, "", now) else {
            return;
        };
        let names = &self.state_names();
        self.views.dialog = Some(Dialog {
            kind: ActionKind::CleanRunning,
            title: "The storage worker did not confirm the forced failure".to_string(),
            lines: vec![
                format!("Clean the Redis running state of {id} directly?"),
                format!(
                    "DEL {}",
                    crate::names::Names::key_for(&names.running_key, id)
                ),
                format!("SREM {} {id}", names.running_set),
                "Both are then checked to be gone.".to_string(),
            ],
            warnings: Vec::new(),
            stage: DialogStage::Confirm,
            effects: vec![effect],
            targets: vec![id.to_string()],
        });
    }

    fn state_names(&self) -> crate::names::Names {
        self.config.names.clone()
    }
}

/// Line editing for a reason: characters, Backspace, Delete, arrows,
/// Home/End, Ctrl-U to clear.
fn edit_text(text: &mut String, cursor: &mut usize, code: KeyCode, modifiers: KeyModifiers) {
    let byte = |text: &str, at: usize| text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
    let len = text.chars().count();
    match code {
        KeyCode::Char('u') if modifiers.contains(KeyModifiers::CONTROL) => {
            text.clear();
            *cursor = 0;
        }
        KeyCode::Char(c) if !modifiers.contains(KeyModifiers::CONTROL) && !c.is_control() => {
            text.insert(byte(text, *cursor), c);
            *cursor += 1;
        }
        KeyCode::Backspace if *cursor > 0 => {
            *cursor -= 1;
            text.remove(byte(text, *cursor));
        }
        KeyCode::Delete if *cursor < len => {
            text.remove(byte(text, *cursor));
        }
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(len),
        KeyCode::Home => *cursor = 0,
        KeyCode::End => *cursor = len,
        _ => {}
    }
}
