//! Writing a recording: the header, every observation as it is received,
//! and clock lines while nothing happens. Each line goes out in one write
//! and is flushed at once, so a recorder that is killed loses at most the
//! line it was writing.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::format::{Header, LineRef};
use crate::model::Ts;
use crate::sources::Received;

/// How often the stream writers consider a clock line.
pub const CLOCK_TICK: Duration = Duration::from_millis(250);
/// A clock line is written when nothing was for this long: with a tick of
/// `CLOCK_TICK`, no gap between two lines exceeds a second.
const QUIET_BEFORE_CLOCK_MS: i64 = 750;

/// Writes one recording to `W`.
pub struct Recorder<W: Write> {
    out: W,
    line: Vec<u8>,
    /// The latest time written so far (header, observation or clock).
    last_at: Ts,
    lines: u64,
}

impl Recorder<File> {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, header: &Header) -> io::Result<Self> {
        let file = File::create(path)?;
        Recorder::new(file, header)
    }
}

impl<W: Write> Recorder<W> {
    /// Writes the header to `out`. `out` should not buffer across lines
    /// (a `File`, stdout): each line is flushed anyway.
    pub fn new(out: W, header: &Header) -> io::Result<Self> {
        let mut recorder = Recorder {
            out,
            line: Vec::with_capacity(512),
            last_at: header.started_at,
            lines: 0,
        };
        recorder.write(&LineRef::Header(header), header.started_at)?;
        Ok(recorder)
    }

    /// Writes one observation.
    pub fn record(&mut self, received: &Received) -> io::Result<()> {
        self.write(&LineRef::Observed(received), received.at)
    }

    /// Writes a clock line at `at` unless a line was written within the
    /// last 750 ms; true when it wrote one. Call it every `CLOCK_TICK`.
    pub fn clock(&mut self, at: Ts) -> io::Result<bool> {
        if at.since(self.last_at) < QUIET_BEFORE_CLOCK_MS {
            return Ok(false);
        }
        self.write(&LineRef::Clock { at }, at)?;
        Ok(true)
    }

    /// Ends the recording with a clock line at `at` (so that its end is
    /// exact), and gives the writer back.
    pub fn finish(mut self, at: Ts) -> io::Result<W> {
        self.write(&LineRef::Clock { at }, at)?;
        Ok(self.out)
    }

    /// Lines written, the header included.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    fn write(&mut self, line: &impl serde::Serialize, at: Ts) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, line)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()?;
        self.last_at = self.last_at.max(at);
        self.lines += 1;
        Ok(())
    }
}

/// `evaltop events`: writes every observation from `input` (and clock
/// lines while it is quiet) until `input` closes, then a last clock line.
/// Returns the lines written; a write error ends it (`BrokenPipe` when the
/// reader of a pipe went away, which the caller may treat as a normal end).
/// Live sources never close `input`: the caller ends it (Ctrl-C) by
/// dropping the future; the recording then ends at its last clock line.
pub async fn write_events<W: Write>(
    mut recorder: Recorder<W>,
    input: &mut mpsc::Receiver<Received>,
) -> io::Result<u64> {
    let mut tick = clock_tick();
    loop {
        tokio::select! {
            received = input.recv() => match received {
                Some(received) => recorder.record(&received)?,
                None => break,
            },
            _ = tick.tick() => {
                recorder.clock(Ts::now())?;
            }
        }
    }
    let lines = recorder.lines() + 1;
    recorder.finish(Ts::now())?;
    Ok(lines)
}

fn clock_tick() -> tokio::time::Interval {
    let mut tick = tokio::time::interval(CLOCK_TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

/// How a recording made by `tee` is going, for a status line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordStatus {
    /// Lines written so far, the header included (updated a few times a
    /// second, and at the end).
    pub lines: u64,
    /// The write error that stopped the recording; observations are still
    /// forwarded after one.
    pub error: Option<String>,
    /// The recording is closed (its last clock line written, or failed).
    pub finished: bool,
}

/// The recording side of `tee`.
pub struct RecordHandle {
    status: watch::Receiver<RecordStatus>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<RecordStatus>,
}

impl RecordHandle {
    pub fn status(&self) -> RecordStatus {
        self.status.borrow().clone()
    }

    /// Stops recording: writes the last clock line and closes the file.
    /// The forwarded receiver closes too.
    pub async fn finish(mut self) -> RecordStatus {
        if let Some(stop) = self.stop.take() {
            // The task may have ended already (input closed): then there is
            // nobody to tell, and its result below says how it ended.
            let _ = stop.send(());
        }
        match self.task.await {
            Ok(status) => status,
            Err(error) => RecordStatus {
                error: Some(format!("the recorder stopped: {error}")),
                finished: true,
                ..self.status.borrow().clone()
            },
        }
    }
}

/// `--record FILE`: records every observation from `input` with
/// `recorder` and forwards it, unchanged and in order, to the returned
/// receiver, which the app loop reads in place of the sources'. File writes
/// stay out of the app loop. A write error stops the recording (see
/// `RecordHandle::status`), never the forwarding. Ends when `input` closes,
/// the returned receiver is dropped, or `RecordHandle::finish` is called.
pub fn tee<W: Write + Send + 'static>(
    recorder: Recorder<W>,
    input: mpsc::Receiver<Received>,
) -> (mpsc::Receiver<Received>, RecordHandle) {
    // As roomy as the sources' own queue: the tee must not add back
    // pressure of its own.
    let (forward, observations) = mpsc::channel(input.max_capacity());
    let (status_tx, status) = watch::channel(RecordStatus {
        lines: recorder.lines(),
        ..RecordStatus::default()
    });
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(run_tee(recorder, input, forward, status_tx, stopped));
    let handle = RecordHandle {
        status,
        stop: Some(stop),
        task,
    };
    (observations, handle)
}

async fn run_tee<W: Write>(
    recorder: Recorder<W>,
    mut input: mpsc::Receiver<Received>,
    forward: mpsc::Sender<Received>,
    status: watch::Sender<RecordStatus>,
    mut stopped: oneshot::Receiver<()>,
) -> RecordStatus {
    let mut recorder = Some(recorder);
    let mut lines = recorder.as_ref().map_or(0, Recorder::lines);
    let mut error = None;
    let mut stop_armed = true;
    let mut tick = clock_tick();
    let fail = |recorder: &mut Option<Recorder<W>>, e: io::Error| {
        tracing::error!(error = %e, "recording stopped: cannot write");
        *recorder = None;
        let text = format!("cannot write the recording: {e}");
        status.send_modify(|s| s.error = Some(text.clone()));
        text
    };
    loop {
        tokio::select! {
            received = input.recv() => {
                let Some(received) = received else { break };
                if let Some(rec) = recorder.as_mut()
                    && let Err(e) = rec.record(&received)
                {
                    error = Some(fail(&mut recorder, e));
                }
                if forward.send(received).await.is_err() {
                    break;
                }
            }
            _ = tick.tick(), if recorder.is_some() => {
                if let Some(rec) = recorder.as_mut() {
                    match rec.clock(Ts::now()) {
                        Ok(_) => {
                            lines = rec.lines();
                            status.send_modify(|s| s.lines = lines);
                        }
                        Err(e) => error = Some(fail(&mut recorder, e)),
                    }
                }
            }
            asked = &mut stopped, if stop_armed => match asked {
                Ok(()) => break,
                // The handle was dropped without `finish`: keep going.
                Err(_) => stop_armed = false,
            },
            () = forward.closed() => break,
        }
    }
    if let Some(rec) = recorder.take() {
        lines = rec.lines() + 1;
        if let Err(e) = rec.finish(Ts::now()) {
            lines -= 1;
            error = Some(fail(&mut None, e));
        }
    }
    let last = RecordStatus {
        lines,
        error,
        finished: true,
    };
    status.send_replace(last.clone());
    last
}
