//! The interactive loop: one owner of the console, observations, keys,
//! mouse and action outcomes in, a frame out only when something changed
//! (plus a 1 s clock tick). No busy loop: the task sleeps in `select!`
//! until something arrives.

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::actions::{LogStreamEvent, Outcome};
use crate::app::feed::Feed;
use crate::console::{Console, Input, Output};
use crate::effects::EffectRunner;
use crate::layout::Drawn;
use crate::model::Ts;
use crate::ui;
use ratatui::Terminal;

/// Observations applied before a frame is drawn, at most: enough to drain a
/// burst, few enough that keys stay responsive during a flood.
const DRAIN_BATCH: usize = 20_000;
/// Following the changes in the table (flags, order) costs a pass over its
/// rows whenever rows move: a few milliseconds at 250,000 (BENCHMARKS.md).
/// During a flood it runs at most this often (20 times a second, more than
/// an eye follows), and never more than a tenth of the time.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(50);
const REFRESH_SHARE: u32 = 9;
/// Frames drawn for what arrives are this far apart at least (60 a
/// second): a flood of small batches would otherwise draw a frame per
/// batch, thousands a second, more than any terminal shows. A death waits
/// at most this long for its frame.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// After applying what has arrived, the loop lets more gather this long
/// before it takes it: under a flood it then wakes at most 500
/// times a second, with batches, rather than once per read of a socket. A
/// death waits at most this much longer.
const GATHER: Duration = Duration::from_millis(2);

/// Restores the terminal however the loop ends (errors included; panics
/// are covered by ratatui's panic hook).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Best effort on the way out: the terminal may already be gone.
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

pub async fn run(
    mut feed: impl Feed,
    mut console: Console,
    runner: Option<EffectRunner>,
) -> Result<()> {
    let mut terminal = ratatui::try_init().wrap_err("cannot set up the terminal")?;
    let _guard = TerminalGuard;
    // ratatui's panic hook restores the screen; the mouse capture is ours
    // to release first, or a panic would leave the shell eating clicks.
    let restore_screen = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Best effort while panicking: nothing better can be done.
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        restore_screen(info);
    }));
    crossterm::execute!(std::io::stdout(), EnableMouseCapture)
        .wrap_err("cannot capture the mouse")?;
    let size = terminal.size().wrap_err("cannot read the terminal size")?;
    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    console.update(Input::Resized(area), feed.now());

    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut terminate = terminate_signal()?;
    let (outcome_tx, mut outcomes) = mpsc::channel::<Outcome>(256);
    // The open logs' Docker stream: one at a time, aborted when replaced
    // or closed (its sender goes with it).
    let (stream_tx, mut log_stream) = mpsc::channel::<LogStreamEvent>(64);
    let mut _follow: Option<FollowTask> = None;
    // What an action's re-read found, applied like any observation.
    let (reread_tx, mut reread) = mpsc::channel::<crate::sources::Received>(64);

    let mut last_refresh = Instant::now() - MIN_REFRESH_INTERVAL;
    let mut refresh_every = MIN_REFRESH_INTERVAL;
    let mut redraw = true;
    let mut last_draw = Instant::now() - FRAME_INTERVAL;
    let mut gathering_until: Option<Instant> = None;
    loop {
        let now = feed.now();
        console.set_replay(feed.status());
        // Draw first: the cells read the records, so a container's death
        // shows at once; the refresh (flags, order) follows.
        if redraw && last_draw.elapsed() >= FRAME_INTERVAL {
            draw(&mut terminal, &mut console, now)?;
            last_draw = Instant::now();
            redraw = false;
        }
        if console.needs_refresh() && last_refresh.elapsed() >= refresh_every {
            let started = Instant::now();
            console.refresh_if_needed(now);
            last_refresh = Instant::now();
            refresh_every = MIN_REFRESH_INTERVAL.max((last_refresh - started) * REFRESH_SHARE);
            // Shown by the next frame, within the frame interval: a frame
            // of its own would draw more than 60 a second under a flood.
            redraw = true;
        }
        let refresh_at = last_refresh + refresh_every;
        let draw_at = last_draw + FRAME_INTERVAL;
        let input = tokio::select! {
            received = feed.next(), if gathering_until.is_none() => {
                let Some(first) = received else { break };
                console.observe(first);
                for _ in 1..DRAIN_BATCH {
                    match feed.try_next() {
                        Some(next) => console.observe(next),
                        None => break,
                    }
                }
                gathering_until = Some(Instant::now() + GATHER);
                None
            }
            () = sleep_until_some(gathering_until) => {
                gathering_until = None;
                None
            }
            event = keys.next() => match event {
                Some(Ok(TermEvent::Key(key))) => Some(Input::Key(key)),
                Some(Ok(TermEvent::Mouse(mouse))) => Some(Input::Mouse(mouse)),
                Some(Ok(TermEvent::Resize(width, height))) => {
                    Some(Input::Resized(ratatui::layout::Rect::new(0, 0, width, height)))
                }
                Some(Ok(_)) => None,
                Some(Err(error)) => return Err(error).wrap_err("cannot read the terminal"),
                None => break,
            },
            Some(outcome) = outcomes.recv() => Some(Input::Outcome(Box::new(outcome))),
            Some(event) = log_stream.recv() => Some(Input::LogStream(Box::new(event))),
            Some(received) = reread.recv() => {
                console.observe(received);
                None
            }
            _ = clock.tick() => {
                feed.tick();
                Some(Input::Tick)
            }
            _ = tokio::time::sleep_until(refresh_at), if console.needs_refresh() => None,
            _ = tokio::time::sleep_until(draw_at), if redraw => None,
            _ = terminate.recv() => break,
        };
        // Something happened (or the refresh came due): the next turn
        // draws once, after this batch.
        redraw = true;
        let Some(input) = input else { continue };
        for output in console.update(input, feed.now()) {
            match output {
                Output::Quit => return Ok(()),
                Output::Run(effect) => match &runner {
                    Some(runner) => {
                        runner.spawn(effect, outcome_tx.clone());
                    }
                    None => {
                        let outcome =
                            Outcome::read_only(effect.kind(), effect.target().clone(), feed.now());
                        console.update(Input::Outcome(Box::new(outcome)), feed.now());
                    }
                },
                Output::SetMouseCapture(on) => {
                    let result = if on {
                        crossterm::execute!(std::io::stdout(), EnableMouseCapture)
                    } else {
                        crossterm::execute!(std::io::stdout(), DisableMouseCapture)
                    };
                    result.wrap_err("cannot change the mouse capture")?;
                }
                Output::FollowLogs {
                    target,
                    window,
                    stream_id,
                } => {
                    // Without a runner (a replay) there is nothing to follow.
                    _follow = runner.as_ref().map(|runner| {
                        FollowTask(runner.follow_logs(target, window, stream_id, stream_tx.clone()))
                    });
                }
                Output::StopFollow => _follow = None,
                Output::Reread(target) => {
                    if let Some(runner) = &runner {
                        runner.reread(target, reread_tx.clone());
                    }
                }
                Output::SaveLogs => {
                    let saved = save_logs(&console, feed.now());
                    console.update(Input::Saved(saved), feed.now());
                }
                Output::Replay(control) => {
                    feed.control(control);
                    if feed.take_reset() {
                        console.reset_state();
                    }
                }
            }
        }
    }
    Ok(())
}

/// Sleeps until `at`; never resolves without one.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A follow stream's task, aborted when dropped.
struct FollowTask(tokio::task::JoinHandle<()>);

impl Drop for FollowTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes the open log document to a file in the working directory.
fn save_logs(console: &Console, now: crate::model::Ts) -> Result<String, String> {
    let crate::console::Screen::Logs(logs) = console.screen() else {
        return Err("no logs are open".to_string());
    };
    let name = crate::view::log_view::default_file_name(&logs.eval_id, now);
    let path = std::env::current_dir()
        .map_err(|e| format!("no working directory: {e}"))?
        .join(name);
    logs.view
        .save(&logs.doc, &path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// SIGTERM and SIGHUP end the loop cleanly, so the terminal is restored.
fn terminate_signal() -> Result<mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).wrap_err("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).wrap_err("cannot watch SIGHUP")?;
    let (tx, rx) = mpsc::channel(1);
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

/// Draws a frame and hands the console what only the drawing knows.
fn draw<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    console: &mut Console,
    now: Ts,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut drawn = Drawn::default();
    terminal
        .draw(|frame| drawn = ui::screen::draw_console(frame, console, now))
        .wrap_err("cannot draw")?;
    console.drawn(drawn);
    Ok(())
}
