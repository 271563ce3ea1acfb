//! Reading a container's logs line by line with Docker's own timestamps,
//! once or following: each line split from its `timestamps` prefix, tagged
//! with its stream, sanitised on the way in, and sent in small batches so
//! that a runaway container cannot flood the UI loop.

use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::{Stream, StreamExt};

use super::DockerError;
use crate::model::{StreamKind, TimedLine, Ts};
use crate::sanitize::{DEFAULT_MAX_LINE, sanitize_bytes};

/// A line longer than this is cut into pieces: Docker itself splits long
/// messages, and an unbounded pending line would be unbounded memory.
const MAX_PENDING: usize = 64 * 1024;
/// Lines are sent at most this long after Docker sent them.
pub const BATCH_EVERY: Duration = Duration::from_millis(100);
/// Or as soon as a batch holds this many.
const BATCH_LINES: usize = 1000;

/// Which part of the log to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogRead {
    /// The last lines only; `None`: all.
    pub tail: Option<usize>,
    /// Lines written at or after this time only.
    pub since: Option<Ts>,
    /// Keep the stream open for new lines while the container runs.
    pub follow: bool,
}

/// Splits Docker's frames into timed lines, per stream.
#[derive(Debug, Default)]
pub struct Splitter {
    tty: bool,
    pending: Vec<(StreamKind, Vec<u8>, Option<Ts>)>,
}

/// `2026-11-28T02:02:08.463130123Z rest`: Docker's time and the rest.
fn strip_stamp(bytes: &[u8]) -> (Option<Ts>, &[u8]) {
    let Some(space) = bytes.iter().take(40).position(|b| *b == b' ') else {
        return (None, bytes);
    };
    match std::str::from_utf8(&bytes[..space])
        .ok()
        .filter(|text| text.len() >= 20 && text.as_bytes()[4] == b'-')
        .and_then(Ts::parse)
    {
        Some(at) => (Some(at), &bytes[space + 1..]),
        None => (None, bytes),
    }
}

impl Splitter {
    /// True once Docker has sent a console (TTY) frame.
    pub fn tty(&self) -> bool {
        self.tty
    }

    /// Takes one frame; complete lines go to `out`.
    pub fn push(&mut self, frame: LogOutput, out: &mut Vec<TimedLine>) {
        let (stream, bytes) = match frame {
            LogOutput::Console { message } => {
                self.tty = true;
                (StreamKind::Console, message)
            }
            LogOutput::StdOut { message } => (StreamKind::Stdout, message),
            // On a console stream a "stderr" frame is console output that
            // began with a byte bollard took for a stream header.
            LogOutput::StdErr { message } if self.tty => (StreamKind::Console, message),
            LogOutput::StdErr { message } => (StreamKind::Stderr, message),
            LogOutput::StdIn { .. } => return,
        };
        let slot = match self.pending.iter().position(|(s, _, _)| *s == stream) {
            Some(slot) => slot,
            None => {
                self.pending.push((stream, Vec::new(), None));
                self.pending.len() - 1
            }
        };
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            // Every message Docker sends starts with its time, including
            // the parts of a message it split.
            let (at, body) = strip_stamp(rest);
            let (buf, pending_at) = {
                let (_, buf, pending_at) = &mut self.pending[slot];
                (buf, pending_at)
            };
            if buf.is_empty() || pending_at.is_none() {
                *pending_at = at.or(*pending_at);
            }
            match body.iter().position(|b| *b == b'\n') {
                Some(nl) => {
                    buf.extend_from_slice(&body[..nl]);
                    let at = pending_at.take();
                    let bytes = std::mem::take(buf);
                    out.push(line(stream, at, &bytes));
                    rest = &body[nl + 1..];
                }
                None => {
                    buf.extend_from_slice(body);
                    if buf.len() >= MAX_PENDING {
                        let at = pending_at.take();
                        let bytes = std::mem::take(buf);
                        out.push(line(stream, at, &bytes));
                    }
                    rest = &[];
                }
            }
        }
    }

    /// The stream ended: what is left of each stream is a last line.
    pub fn finish(&mut self, out: &mut Vec<TimedLine>) {
        for (stream, buf, at) in self.pending.drain(..) {
            if !buf.is_empty() {
                out.push(line(stream, at, &buf));
            }
        }
    }
}

fn line(stream: StreamKind, at: Option<Ts>, bytes: &[u8]) -> TimedLine {
    let mut text = sanitize_bytes(bytes, DEFAULT_MAX_LINE);
    if text.ends_with('\n') {
        text.pop();
    }
    TimedLine { stream, at, text }
}

/// A batch of lines, and whether Docker kept one console stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineBatch {
    pub lines: Vec<TimedLine>,
    pub tty: bool,
}

/// The container's log as timed lines, in batches (at most `BATCH_EVERY`
/// late); ends when Docker ends the stream (at once without `follow`, at
/// the container's end with it). 404 gives `NotFound`.
pub fn read_lines(
    docker: &Docker,
    container_id: &str,
    read: LogRead,
) -> impl Stream<Item = Result<LineBatch, DockerError>> + use<> {
    let mut options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .follow(read.follow);
    if let Some(tail) = read.tail {
        options = options.tail(&tail.to_string());
    }
    if let Some(since) = read.since {
        options = options.since(i32::try_from(since.millis() / 1000).unwrap_or(0));
    }
    let frames = docker.logs(container_id, Some(options.build()));
    futures::stream::unfold(
        (Box::pin(frames), Splitter::default(), false),
        |(mut frames, mut splitter, done)| async move {
            if done {
                return None;
            }
            let mut lines = Vec::new();
            let deadline = tokio::time::Instant::now() + BATCH_EVERY;
            loop {
                let next = if lines.is_empty() {
                    frames.next().await
                } else {
                    match tokio::time::timeout_at(deadline, frames.next()).await {
                        Ok(next) => next,
                        Err(_) => break,
                    }
                };
                match next {
                    Some(Ok(frame)) => {
                        splitter.push(frame, &mut lines);
                        if lines.len() >= BATCH_LINES {
                            break;
                        }
                    }
                    Some(Err(error)) => {
                        let error = DockerError::from_bollard("read the logs", error);
                        return Some((Err(error), (frames, splitter, true)));
                    }
                    None => {
                        splitter.finish(&mut lines);
                        let tty = splitter.tty();
                        return Some((Ok(LineBatch { lines, tty }), (frames, splitter, true)));
                    }
                }
            }
            let tty = splitter.tty();
            Some((Ok(LineBatch { lines, tty }), (frames, splitter, false)))
        },
    )
}

#[cfg(test)]
mod tests;
