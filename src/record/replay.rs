//! Replaying a recording: a time cursor over the recorded lines (pause,
//! speed, seek), and the model driven by it. The model's `now` is always
//! the cursor, never the wall clock, so flags at a recorded moment are the
//! same on any machine and at any speed.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use super::reader::Recording;
use crate::model::{Settings, State, Ts, human_duration};

/// Replay speeds, in quarters: 0.25x, 0.5x, 1x, 2x ... 64x.
const SPEED_QUARTERS: [u32; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const ONE_X: usize = 2;
/// How far `SkipBack` / `SkipForward` move the cursor.
const SKIP_MS: i64 = 10_000;

/// A replay speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Speed(usize);

impl Speed {
    pub const SLOWEST: Speed = Speed(0);
    pub const NORMAL: Speed = Speed(ONE_X);
    pub const FASTEST: Speed = Speed(SPEED_QUARTERS.len() - 1);

    /// The factor as a number, e.g. 0.25 or 64.
    pub fn factor(self) -> f64 {
        f64::from(self.quarters()) / 4.0
    }

    fn quarters(self) -> u32 {
        SPEED_QUARTERS[self.0]
    }

    /// Twice as fast, up to 64x.
    pub fn faster(self) -> Speed {
        Speed((self.0 + 1).min(Self::FASTEST.0))
    }

    /// Half as fast, down to 0.25x.
    pub fn slower(self) -> Speed {
        Speed(self.0.saturating_sub(1))
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quarters() {
            1 => f.write_str("0.25x"),
            2 => f.write_str("0.5x"),
            q => write!(f, "{}x", q / 4),
        }
    }
}

/// When each line is due: its receive time, but never before a line
/// recorded ahead of it. Two sources stamp their observations separately,
/// so receive times can step back a little; the file's order is the order
/// the live model applied them in, and replay keeps it.
fn due_times(recording: &Recording) -> Vec<Ts> {
    let mut latest = Ts(i64::MIN);
    recording
        .lines
        .iter()
        .map(|r| {
            latest = latest.max(r.at);
            latest
        })
        .collect()
}

/// The time cursor over a recording. Pure: the caller says how much real
/// time passed; the player says which lines became due. Whatever the speed
/// and however time is sliced, the lines come in file order, each once, and
/// every line is due by the end.
#[derive(Clone, Debug)]
pub struct Player {
    due: Vec<Ts>,
    /// The first line not yet handed out.
    next: usize,
    start: Ts,
    end: Ts,
    cursor: Ts,
    /// Recorded microseconds not yet added to the cursor (below 1 ms).
    carry_us: u64,
    speed: Speed,
    paused: bool,
}

/// What the caller must do after a seek.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seek {
    /// Apply these lines, in order, to the current state.
    Forward(Range<usize>),
    /// Start from an empty state, then apply these lines in order.
    Restart(Range<usize>),
}

impl Player {
    /// At the start, playing at 1x.
    pub fn new(recording: &Recording) -> Self {
        let due = due_times(recording);
        let start = recording.start();
        let end = due
            .last()
            .map_or(recording.end, |last| recording.end.max(*last));
        Player {
            due,
            next: 0,
            start,
            end,
            cursor: start,
            carry_us: 0,
            speed: Speed::NORMAL,
            paused: false,
        }
    }

    pub fn cursor(&self) -> Ts {
        self.cursor
    }

    pub fn start(&self) -> Ts {
        self.start
    }

    pub fn end(&self) -> Ts {
        self.end
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn set_speed(&mut self, speed: Speed) {
        self.speed = speed;
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// The cursor is at the end: nothing more will come.
    pub fn at_end(&self) -> bool {
        self.cursor >= self.end
    }

    /// Lines handed out so far.
    pub fn applied(&self) -> usize {
        self.next
    }

    /// Moves the cursor by `real` times the speed (unless paused or at the
    /// end); returns the lines that became due, to apply in order.
    pub fn advance(&mut self, real: Duration) -> Range<usize> {
        if self.paused || self.at_end() {
            return self.next..self.next;
        }
        let real_us = u64::try_from(real.as_micros()).unwrap_or(u64::MAX);
        let recorded_us = real_us
            .saturating_mul(u64::from(self.speed.quarters()))
            .saturating_div(4)
            .saturating_add(self.carry_us);
        self.carry_us = recorded_us % 1000;
        let ms = i64::try_from(recorded_us / 1000).unwrap_or(i64::MAX);
        self.cursor = self.cursor.plus_millis(ms).min(self.end);
        self.release()
    }

    /// Moves the cursor to `at` (kept within the recording).
    pub fn seek(&mut self, at: Ts) -> Seek {
        let at = at.clamp(self.start, self.end);
        self.carry_us = 0;
        if at >= self.cursor {
            self.cursor = at;
            Seek::Forward(self.release())
        } else {
            self.cursor = at;
            self.next = 0;
            Seek::Restart(self.release())
        }
    }

    pub fn seek_start(&mut self) -> Seek {
        self.seek(self.start)
    }

    pub fn seek_end(&mut self) -> Seek {
        self.seek(self.end)
    }

    fn release(&mut self) -> Range<usize> {
        let from = self.next;
        while self.next < self.due.len() && self.due[self.next] <= self.cursor {
            self.next += 1;
        }
        from..self.next
    }
}

/// The state as of `at` (default: the end of the recording): every line
/// due by then applied in order. Judge it with `now` = `at` (or
/// `recording.end`): that is when it holds. Sources' health is what the
/// recorded `SourceUp`/`SourceDown` lines made it.
pub fn state_at(recording: &Recording, settings: Settings, at: Option<Ts>) -> State {
    let mut player = Player::new(recording);
    let mut state = State::new(settings);
    add_engines(&mut state, recording);
    let range = match player.seek(at.unwrap_or(recording.end)) {
        Seek::Forward(range) | Seek::Restart(range) => range,
    };
    apply(&mut state, recording, range);
    state
}

/// The recording's engines are known from its start, as the live ones are.
fn add_engines(state: &mut State, recording: &Recording) {
    for engine in recording.header.sources.engine_specs() {
        state.add_engine(engine.name);
    }
}

fn apply(state: &mut State, recording: &Recording, range: Range<usize>) {
    for received in &recording.lines[range] {
        state.apply(received.observation.clone(), received.at);
    }
}

/// Where a demo starts, so that a newcomer sees the incident at once: the
/// first moment at which as many evaluations carry a warning or an alarm
/// as ever do in the recording (checked each second). `None` when nothing
/// is ever flagged.
pub fn first_alarm(recording: &Recording, settings: Settings) -> Option<Ts> {
    use crate::model::{HealthContext, Severity, assess};
    let mut player = Player::new(recording);
    let mut state = State::new(settings);
    let mut best: Option<(usize, Ts)> = None;
    loop {
        let now = player.cursor();
        let ctx = HealthContext::of(&state, now);
        let flagged = state
            .evals
            .values()
            .filter(|record| {
                assess(record, &ctx)
                    .iter()
                    .any(|f| f.severity() >= Severity::Warning)
            })
            .count();
        if flagged > best.map_or(0, |(n, _)| n) {
            best = Some((flagged, now));
        }
        if now >= player.end() {
            return best.map(|(_, at)| at);
        }
        let range = match player.seek(now.plus_millis(1_000)) {
            Seek::Forward(range) | Seek::Restart(range) => range,
        };
        apply(&mut state, recording, range);
    }
}

/// A moment of a recording as given to `check --at`: RFC 3339
/// (`2025-07-06T00:56:40Z`), an offset from the start (`+90s`, `+1m30s`)
/// or from the end (`-10s`), or `start` / `end`.
pub fn parse_at(text: &str, recording: &Recording) -> Result<Ts, String> {
    let text = text.trim();
    let (start, end) = (recording.start(), recording.end.max(recording.start()));
    let offset = |body: &str| {
        humantime::parse_duration(body.trim())
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .map_err(|e| format!("{text:?}: {e} (expected e.g. +90s or -10s)"))
    };
    let at = match text {
        "start" => start,
        "end" => end,
        _ if text.starts_with('+') => start.plus_millis(offset(&text[1..])?),
        _ if text.starts_with('-') => end.plus_millis(-offset(&text[1..])?),
        _ => Ts::parse(text).ok_or_else(|| {
            format!("{text:?} is neither a time (RFC 3339) nor an offset such as +90s")
        })?,
    };
    if at < start || at > end {
        return Err(format!(
            "{text} is outside the recording, which runs from {start} to {end}"
        ));
    }
    Ok(at)
}

/// What a replay's keys ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayCommand {
    TogglePause,
    Faster,
    Slower,
    SeekStart,
    SeekEnd,
    SkipBack,
    SkipForward,
}

/// A recording played into a model: what the replay TUI owns in place of
/// the live sources. Draw `state()` with `now()` as the time.
#[derive(Clone, Debug)]
pub struct Replay {
    recording: Recording,
    settings: Settings,
    state: State,
    player: Player,
}

impl Replay {
    /// At the start of `recording`, playing at 1x.
    pub fn new(recording: Recording, settings: Settings) -> Self {
        let player = Player::new(&recording);
        let mut state = State::new(settings.clone());
        add_engines(&mut state, &recording);
        Replay {
            state,
            recording,
            settings,
            player,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The replay's `now`: the cursor.
    pub fn now(&self) -> Ts {
        self.player.cursor()
    }

    pub fn player(&self) -> &Player {
        &self.player
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Lets `real` time pass; returns how many lines were applied.
    pub fn advance(&mut self, real: Duration) -> usize {
        let range = self.player.advance(real);
        let applied = range.len();
        apply(&mut self.state, &self.recording, range);
        applied
    }

    /// Carries out `command`.
    pub fn command(&mut self, command: ReplayCommand) {
        let cursor = self.player.cursor();
        let seek = match command {
            ReplayCommand::TogglePause => {
                self.player.set_paused(!self.player.paused());
                None
            }
            ReplayCommand::Faster => {
                self.player.set_speed(self.player.speed().faster());
                None
            }
            ReplayCommand::Slower => {
                self.player.set_speed(self.player.speed().slower());
                None
            }
            ReplayCommand::SeekStart => Some(self.player.seek_start()),
            ReplayCommand::SeekEnd => Some(self.player.seek_end()),
            ReplayCommand::SkipBack => Some(self.player.seek(cursor.plus_millis(-SKIP_MS))),
            ReplayCommand::SkipForward => Some(self.player.seek(cursor.plus_millis(SKIP_MS))),
        };
        match seek {
            Some(Seek::Forward(range)) => apply(&mut self.state, &self.recording, range),
            Some(Seek::Restart(range)) => {
                self.state = State::new(self.settings.clone());
                add_engines(&mut self.state, &self.recording);
                apply(&mut self.state, &self.recording, range);
            }
            None => {}
        }
    }

    /// For a status line: `replay 00:55:16.182 (+41s of 58s)  4x  paused`.
    pub fn describe(&self) -> String {
        let player = &self.player;
        let at = human_duration(player.cursor().since(player.start()));
        let length = human_duration(player.end().since(player.start()));
        let mode = if player.at_end() {
            "  end"
        } else if player.paused() {
            "  paused"
        } else {
            ""
        };
        format!(
            "replay {} (+{at} of {length})  {}{mode}",
            player.cursor().clock(),
            player.speed()
        )
    }
}
