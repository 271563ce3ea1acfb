//! Property tests: arbitrary Unicode, bytes and JSON in every field of every
//! payload, key and label, through the real decoders (the channel decoder,
//! the key readers' value decoders, the Docker facts readers fed the
//! engine's JSON), `State::apply`, and every screen and dialog of the
//! console at several sizes (table, events, rejected payloads, help, the
//! fleet, detail, the three dialogs, logs and their origins, filter).
//! Nothing may panic, and no cell on screen may hold a control, escape or
//! bidi character. The cases themselves are made in `cases`.
//!
//! `PROPTEST_CASES` sets the number of cases (a few seconds' worth by
//! default, for CI). The long run, by hand:
//! `PROPTEST_CASES=1000000 cargo test --release --lib tests::properties`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use serde_json::Value;

use super::cases::{T0, captured, case, observations};
use crate::actions::{ActionKind, LogOrigin, Outcome, OutcomeDetail, Target};
use crate::console::{Console, ConsoleConfig, Input};
use crate::model::{Observation, State, Ts};
use crate::sources::Received;
use crate::ui::screen::draw_console;

use super::config;

fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// Every string of an observation as it entered the model: only `\n' may
/// remain of the controls, and no bidi control at all.
fn assert_entered_clean(observation: &Observation) -> Result<(), TestCaseError> {
    fn walk(value: &Value) -> Result<(), TestCaseError> {
        match value {
            Value::String(s) => {
                prop_assert!(
                    !s.chars().any(|c| c != '\n' && forbidden(c)),
                    "entered unsanitised: {s:?}"
                );
            }
            Value::Array(items) => items.iter().try_for_each(walk)?,
            Value::Object(map) => map.values().try_for_each(walk)?,
            _ => {}
        }
        Ok(())
    }
    walk(&serde_json::to_value(observation).expect("an observation serialises"))
}

fn assert_cells_clean(buf: &Buffer, what: &str) -> Result<(), TestCaseError> {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let symbol = buf[(x, y)].symbol();
            prop_assert!(
                !symbol.chars().any(forbidden),
                "{what}: cell ({x},{y}) holds {symbol:?}"
            );
        }
    }
    Ok(())
}

struct Driver {
    console: Console,
    now: Ts,
    terminal: Terminal<TestBackend>,
}

impl Driver {
    fn key(&mut self, code: KeyCode) {
        let modifiers = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        self.console
            .update(Input::Key(KeyEvent::new(code, modifiers)), self.now);
        self.console.refresh_if_needed(self.now);
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars().take(64) {
            self.key(KeyCode::Char(c));
        }
    }

    fn draw(&mut self, what: &str) -> Result<(), TestCaseError> {
        let (console, now) = (&self.console, self.now);
        let mut drawn = crate::layout::Drawn::default();
        self.terminal
            .draw(|frame| drawn = draw_console(frame, console, now))
            .expect("a TestBackend draws");
        self.console.drawn(drawn);
        assert_cells_clean(self.terminal.backend().buffer(), what)
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// Every input through its decoder and the model: nothing panics, and
    /// every string enters the model clean.
    #[test]
    fn any_input_decodes_and_applies(case in case()) {
        let mut state = State::default();
        for (i, observation) in observations(&case).into_iter().enumerate() {
            assert_entered_clean(&observation)?;
            state.apply(observation, Ts(T0 + 10 * i as i64));
        }
        let now = Ts(T0 + i64::from(case.later_ms));
        for record in state.evals.values() {
            crate::model::assess(record, &crate::model::HealthContext::of(&state, now));
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Every screen and dialog on any input, at the case's size: nothing
    /// panics and no cell holds a control, escape or bidi character.
    #[test]
    fn any_input_draws_clean_on_every_screen(case in case()) {
        let now = Ts(T0 + i64::from(case.later_ms));
        let mut console = Console::new(State::default(), ConsoleConfig {
        operator: "op".into(),
        ..ConsoleConfig::default()
    });
        for (i, observation) in observations(&case).into_iter().enumerate() {
            console.observe(Received { at: Ts(T0 + 10 * i as i64), observation });
        }
        let (width, height) = case.size;
        console.update(Input::Resized(Rect::new(0, 0, width, height)), now);
        console.refresh_if_needed(now);
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        let mut d = Driver { console, now, terminal };
        d.draw("table")?;
        d.key(KeyCode::Char('e'));
        d.draw("table with events")?;
        d.key(KeyCode::Char('R'));
        d.draw("rejected payloads")?;
        d.key(KeyCode::Char('R'));
        d.key(KeyCode::Char('e'));
        d.key(KeyCode::Char('?'));
        d.draw("help")?;
        d.key(KeyCode::Esc);
        d.key(KeyCode::Char('H'));
        d.draw("fleet")?;
        d.key(KeyCode::Down);
        d.key(KeyCode::Enter);
        d.draw("table filtered from the fleet")?;
        d.key(KeyCode::Esc);
        let ids: Vec<_> = d.console.state().evals.keys().cloned().collect();
        for id in ids {
            d.console.select(&id);
            d.key(KeyCode::Enter);
            d.draw("detail")?;
            d.key(KeyCode::Esc);
            for action in ['K', 'D'] {
                d.key(KeyCode::Char(action));
                d.draw("dialog")?;
                d.key(KeyCode::Esc);
            }
            d.key(KeyCode::Char('F'));
            d.typed(&case.typed);
            d.draw("force-failed reason")?;
            d.key(KeyCode::Esc);
            d.key(KeyCode::Esc);
            d.key(KeyCode::Char('l'));
            d.draw("logs")?;
            let logs = captured(case.typed.as_bytes(), false);
            let outcome = Outcome::new(ActionKind::FetchLogs, Target::new(&id), true, "logs".into(), now)
                .with_detail(OutcomeDetail::Logs { origin: LogOrigin::Docker { tty: false }, logs, complete: true, lines: Vec::new() });
            d.console.update(Input::Outcome(Box::new(outcome)), now);
            d.key(KeyCode::Char('/'));
            d.typed(&case.typed);
            d.draw("logs search")?;
            d.key(KeyCode::Enter);
            d.key(KeyCode::Char('w'));
            d.draw("logs wrapped")?;
            d.key(KeyCode::Char('o'));
            d.draw("logs, the next origin")?;
            d.key(KeyCode::Esc);
        }
        d.key(KeyCode::Char('/'));
        d.typed(&case.typed);
        d.draw("filter bar")?;
        d.key(KeyCode::Enter);
        d.draw("filtered table")?;
    }
}
