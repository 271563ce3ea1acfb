//! Reading a container's logs once, bounded: the last lines Docker keeps,
//! of which only the tail of each stream is kept, sanitised on the way in.
//! Says whether Docker kept one console stream (TTY) or stdout and stderr.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;

use super::DockerError;
use crate::model::{CapturedLogs, Ts};
use crate::sanitize::{DEFAULT_MAX_LINE, sanitize_bytes};

/// Bytes kept of each stream: enough for a traceback and what led to it.
pub const LOG_TAIL_BYTES: usize = 64 * 1024;
/// Lines asked of Docker. Without a bound, Docker would send every line a
/// runaway loop ever printed, only for us to throw most of it away.
pub const LOG_TAIL_LINES: usize = 5000;

/// The last `limit` bytes of a stream, and how much passed through.
#[derive(Debug)]
struct Tail {
    buf: Vec<u8>,
    total: u64,
    limit: usize,
}

impl Tail {
    fn new(limit: usize) -> Self {
        Tail {
            buf: Vec::new(),
            total: 0,
            limit,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if bytes.len() >= self.limit {
            self.buf.clear();
            self.buf
                .extend_from_slice(&bytes[bytes.len() - self.limit..]);
            return;
        }
        self.buf.extend_from_slice(bytes);
        // Trim only when twice over the limit, so that the cost stays
        // linear in what passes through.
        if self.buf.len() > 2 * self.limit {
            let excess = self.buf.len() - self.limit;
            self.buf.drain(..excess);
        }
    }

    fn kept(&self) -> &[u8] {
        let start = self.buf.len().saturating_sub(self.limit);
        let mut kept = &self.buf[start..];
        if (kept.len() as u64) < self.total {
            // Cut inside a character: drop its orphaned continuation
            // bytes rather than show a replacement character.
            let skip = kept
                .iter()
                .take(3)
                .take_while(|b| (0x80..0xc0).contains(*b))
                .count();
            kept = &kept[skip..];
        }
        kept
    }

    fn truncated(&self) -> bool {
        (self.kept().len() as u64) < self.total
    }

    fn text(&self) -> String {
        sanitize_bytes(self.kept(), DEFAULT_MAX_LINE)
    }
}

/// Reads a container's logs (the last `LOG_TAIL_LINES` lines, of which the
/// last `LOG_TAIL_BYTES` of each stream are kept), sanitised. `tty` is true
/// when Docker returned one console stream. 404 gives `NotFound`.
pub async fn capture_logs(
    docker: &Docker,
    container_id: &str,
) -> Result<CapturedLogs, DockerError> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(false)
        .tail(&LOG_TAIL_LINES.to_string())
        .build();
    let mut frames = docker.logs(container_id, Some(options));
    let mut out = Tail::new(LOG_TAIL_BYTES);
    let mut err = Tail::new(LOG_TAIL_BYTES);
    let mut tty = false;
    let mut lines = 0usize;
    while let Some(frame) = frames.next().await {
        let frame = frame.map_err(|e| DockerError::from_bollard("read the logs", e))?;
        lines += frame.as_ref().iter().filter(|b| **b == b'\n').count();
        match frame {
            LogOutput::Console { message } => {
                tty = true;
                out.push(&message);
            }
            LogOutput::StdOut { message } => out.push(&message),
            // On a console stream Docker sends no stderr; a "stderr" frame
            // there is console output that began with a byte bollard took
            // for a stream header, and it belongs with the rest.
            LogOutput::StdErr { message } if tty => out.push(&message),
            LogOutput::StdErr { message } => err.push(&message),
            LogOutput::StdIn { .. } => {}
        }
    }
    let truncated = out.truncated() || err.truncated() || lines >= LOG_TAIL_LINES;
    let total_bytes = out.total + err.total;
    let (stdout, stderr) = if tty {
        // Anything that reached `err` before the first console frame was
        // console output too (see above).
        let mut console = out.text();
        console.push_str(&err.text());
        (console, String::new())
    } else {
        (out.text(), err.text())
    };
    Ok(CapturedLogs {
        tty,
        stdout,
        stderr,
        total_bytes,
        truncated,
        captured_at: Ts::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail_but_counts_everything() {
        let mut tail = Tail::new(16);
        for i in 0..100 {
            tail.push(format!("line {i:03}\n").as_bytes());
        }
        assert_eq!(tail.total, 900);
        assert_eq!(tail.kept(), b"ne 098\nline 099\n");
        assert!(tail.truncated());
        assert!(tail.buf.len() <= 32, "the buffer stays bounded");
    }

    #[test]
    fn one_huge_chunk_keeps_its_end() {
        let mut tail = Tail::new(4);
        tail.push(b"0123456789");
        assert_eq!(tail.kept(), b"6789");
        assert_eq!(tail.total, 10);
    }

    #[test]
    fn short_output_is_kept_whole() {
        let mut tail = Tail::new(64);
        tail.push(b"Before error\r\n");
        tail.push(b"\x1b[31mZeroDivisionError\x1b[0m\r\n");
        assert!(!tail.truncated());
        assert_eq!(tail.text(), "Before error\nZeroDivisionError\n");
    }

    #[test]
    fn a_cut_inside_a_character_drops_the_orphaned_bytes() {
        let mut tail = Tail::new(4);
        tail.push("aé€".as_bytes()); // 1 + 2 + 3 bytes: the last 4 begin inside 'é'
        assert_eq!(tail.text(), "€");
    }
}
