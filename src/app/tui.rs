//! The interactive loop: one owner of the state, observations and keys in,
//! a frame out only when something changed (plus a 1 s clock tick). No busy
//! loop: the task sleeps in `select!` until something arrives.

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::time::{Instant, MissedTickBehavior};

use crate::app::Sources;
use crate::model::{State, Ts};
use crate::ui;
use crate::view::{Action, TableView};

/// Observations applied before a frame is drawn, at most: enough to drain a
/// burst, few enough that keys stay responsive during a flood.
const DRAIN_BATCH: usize = 20_000;
/// Refreshing the table costs O(records); during a flood it runs at most
/// this often, which still shows a die event well within 50 ms.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(25);

/// Restores the terminal however the loop ends (errors included; panics
/// are covered by ratatui's panic hook).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

pub async fn run(mut sources: Sources, mut state: State) -> Result<()> {
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    let _guard = TerminalGuard;
    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut terminate = terminate_signal()?;

    let mut table = TableView::default();
    let mut last_refresh = Instant::now();
    let mut refresh_pending = true;
    let mut redraw = true;
    let mut page = 10usize;

    loop {
        if refresh_pending && last_refresh.elapsed() >= MIN_REFRESH_INTERVAL {
            table.refresh(&state, Ts::now());
            last_refresh = Instant::now();
            refresh_pending = false;
            redraw = true;
        }
        if redraw {
            let now = Ts::now();
            terminal
                .draw(|frame| {
                    page = ui::page_size(frame.area());
                    ui::draw(frame, &state, &table, now);
                })
                .wrap_err("cannot draw")?;
            redraw = false;
        }
        let refresh_at = last_refresh + MIN_REFRESH_INTERVAL;
        tokio::select! {
            received = sources.observations.recv() => {
                let Some(first) = received else { break };
                state.apply(first.observation, first.at);
                for _ in 1..DRAIN_BATCH {
                    match sources.observations.try_recv() {
                        Ok(next) => state.apply(next.observation, next.at),
                        Err(_) => break,
                    }
                }
                refresh_pending = true;
            }
            event = keys.next() => match event {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    match ui::keys::action_for(&key) {
                        Some(Action::Quit) => break,
                        Some(action) => {
                            table.apply(action, page);
                            redraw = true;
                        }
                        None => {}
                    }
                }
                Some(Ok(TermEvent::Resize(..))) => redraw = true,
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error).wrap_err("cannot read the terminal"),
                None => break,
            },
            _ = clock.tick() => refresh_pending = true,
            _ = tokio::time::sleep_until(refresh_at), if refresh_pending => {}
            _ = terminate.recv() => break,
        }
    }
    Ok(())
}

/// SIGTERM and SIGHUP end the loop cleanly, so the terminal is restored.
fn terminate_signal() -> Result<tokio::sync::mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).wrap_err("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).wrap_err("cannot watch SIGHUP")?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hangup.recv() => {}
        }
        // The receiver is gone only when the loop already ended.
        let _ = tx.send(()).await;
    });
    Ok(rx)
}
