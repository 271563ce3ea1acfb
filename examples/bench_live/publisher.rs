//! Publishing over one raw RESP connection: commands are written in
//! batches and the replies counted by a reader task, so that the only
//! limits are Redis's and the socket's. `steady` holds a rate (for
//! background traffic and the CPU figure); `flood` writes as fast as the
//! connection takes it (the flood figure).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::time::{Instant, MissedTickBehavior};

use crate::traffic::{Messages, Prepared};

/// How often the steady publisher writes a batch.
const TICK: Duration = Duration::from_millis(5);
/// A steady publisher that falls behind catches up by at most this much
/// at once, rather than flooding: its achieved rate is reported instead.
const MAX_DEBT: Duration = Duration::from_millis(50);
/// Bytes written per call in a flood.
const FLOOD_CHUNK: usize = 1 << 20;
/// How long Redis may take to answer everything written.
const REPLIES_WITHIN: Duration = Duration::from_secs(120);

/// What a publisher sent, and over how long.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    pub messages: u64,
    pub elapsed: Duration,
}

impl Sent {
    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub struct Publisher {
    write: OwnedWriteHalf,
    sent: u64,
    replies: Arc<AtomicU64>,
    reader: tokio::task::JoinHandle<()>,
}

impl Publisher {
    pub async fn connect(port: u16) -> Result<Publisher> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .wrap_err_with(|| format!("cannot connect to redis on port {port}"))?;
        stream.set_nodelay(true)?;
        let (mut read, write) = stream.into_split();
        let replies = Arc::new(AtomicU64::new(0));
        let counted = replies.clone();
        // Every reply to PUBLISH is one line (`:N` or `-ERR ...`).
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let lines = buf[..n].iter().filter(|b| **b == b'\n').count();
                counted.fetch_add(lines as u64, Ordering::Relaxed);
            }
        });
        Ok(Publisher {
            write,
            sent: 0,
            replies,
            reader,
        })
    }

    async fn write(&mut self, bytes: &[u8], commands: u64) -> Result<()> {
        self.write
            .write_all(bytes)
            .await
            .wrap_err("redis closed the publisher's connection")?;
        self.sent += commands;
        Ok(())
    }

    /// Waits until Redis has answered every command written.
    pub async fn drained(&self) -> Result<()> {
        let deadline = Instant::now() + REPLIES_WITHIN;
        while self.replies.load(Ordering::Relaxed) < self.sent {
            if Instant::now() > deadline {
                bail!(
                    "redis answered {} of {} commands within {REPLIES_WITHIN:?}",
                    self.replies.load(Ordering::Relaxed),
                    self.sent
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Publishes `messages` at `rate` per second until they run out or `stop`
/// is set; returns once Redis has answered them all.
pub async fn steady(
    port: u16,
    rate: u64,
    mut messages: impl Messages,
    stop: Arc<AtomicBool>,
) -> Result<Sent> {
    let mut publisher = Publisher::connect(port).await?;
    let started = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let max_debt = (rate as f64 * MAX_DEBT.as_secs_f64()).ceil() as u64;
    let mut forgiven = 0u64;
    let mut batch = Vec::new();
    let mut exhausted = false;
    while !exhausted && !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        let due = (rate as f64 * started.elapsed().as_secs_f64()) as u64;
        let mut owed = due.saturating_sub(publisher.sent + forgiven);
        if owed > max_debt {
            forgiven += owed - max_debt;
            owed = max_debt;
        }
        batch.clear();
        let mut count = 0;
        while count < owed {
            if !messages.write_next(&mut batch) {
                exhausted = true;
                break;
            }
            count += 1;
        }
        publisher.write(&batch, count).await?;
    }
    let elapsed = started.elapsed();
    publisher.drained().await?;
    Ok(Sent {
        messages: publisher.sent,
        elapsed,
    })
}

/// Starts `steady` in the background; stop it with the returned flag.
pub fn background(
    port: u16,
    rate: u64,
    messages: impl Messages + 'static,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Result<Sent>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(steady(port, rate, messages, stop.clone()));
    (stop, task)
}

/// Writes every prepared command as fast as the connection takes them;
/// the time runs until Redis has answered the last.
pub async fn flood(port: u16, prepared: &Prepared) -> Result<Sent> {
    let mut publisher = Publisher::connect(port).await?;
    let started = Instant::now();
    for chunk in prepared.bytes.chunks(FLOOD_CHUNK) {
        publisher.write(chunk, 0).await?;
    }
    publisher.sent = prepared.len();
    publisher.drained().await?;
    Ok(Sent {
        messages: prepared.len(),
        elapsed: started.elapsed(),
    })
}
