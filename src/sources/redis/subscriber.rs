//! evaltop's own pub/sub connection. The redis client reads a subscription
//! into an unbounded channel of its own, so a subscriber that cannot keep
//! up grows without bound while Redis never sees it slow, and its parser
//! and message type cost more than all the rest of the ingest
//! (BENCHMARKS.md section 8). This one reads the socket only when asked,
//! so the session reads no further than it has room for (past that, Redis
//! holds the messages under its own client-output-buffer-limit); it parses
//! frames in place, and answers PING on the same connection for the
//! liveness probe.

use std::io;
use std::sync::Arc;

use redis::{ConnectionAddr, ConnectionInfo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{Mutex, watch};

use super::resp::{self, Frame, Item, Malformed};

/// Bytes asked of the socket per read: a few hundred messages.
const READ_CHUNK: usize = 64 * 1024;

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Reader = ReadHalf<Box<dyn Io>>;
type Writer = WriteHalf<Box<dyn Io>>;

/// Why the connection could not be opened or subscribed.
#[derive(Debug)]
pub(super) enum Failure {
    Io(io::Error),
    /// The server answered with an error (a wrong password, a refused
    /// pattern): its words.
    Refused {
        what: String,
        reply: String,
    },
    Malformed(Malformed),
    /// The server closed the connection before answering.
    Closed,
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Io(error)
    }
}

impl From<Malformed> for Failure {
    fn from(error: Malformed) -> Self {
        Failure::Malformed(error)
    }
}

/// One message as it arrived, borrowed from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Message<'a> {
    pub channel: &'a [u8],
    pub payload: &'a [u8],
}

/// The connection, owned by the session: it reads; its writing side is
/// shared with the probes.
pub(super) struct Subscriber {
    reader: Reader,
    buf: Vec<u8>,
    /// Where the frames not yet taken start in `buf`.
    start: usize,
    writer: Arc<Mutex<WriteSide>>,
    /// Answers to PING seen so far.
    pongs: watch::Sender<u64>,
}

struct WriteSide {
    writer: Writer,
    /// PINGs sent so far: counted with the writer held, so that the n-th
    /// answer is the n-th PING's.
    pings: u64,
}

/// For the probes: sends PING and waits until the reader has seen its
/// answer.
#[derive(Clone)]
pub(super) struct Pinger {
    writer: Arc<Mutex<WriteSide>>,
    pongs: watch::Receiver<u64>,
}

impl Pinger {
    /// Resolves when the server has answered this PING; the answer comes
    /// after every message Redis sent before it, so it waits for the reader.
    pub async fn ping(&self) -> io::Result<()> {
        let number = {
            let mut side = self.writer.lock().await;
            side.writer.write_all(b"*1\r\n$4\r\nPING\r\n").await?;
            side.pings += 1;
            side.pings
        };
        let mut pongs = self.pongs.clone();
        pongs
            .wait_for(|seen| *seen >= number)
            .await
            .map(|_| ())
            .map_err(|_closed| io::Error::new(io::ErrorKind::BrokenPipe, "the subscriber has gone"))
    }
}

impl Subscriber {
    /// Connects and authenticates as `info` says (a database number means
    /// nothing to pub/sub).
    pub async fn connect(info: &ConnectionInfo) -> Result<Subscriber, Failure> {
        let io: Box<dyn Io> = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            #[cfg(unix)]
            ConnectionAddr::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
            _ => {
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "TLS is not supported (this build has no TLS)",
                )));
            }
        };
        let (reader, writer) = tokio::io::split(io);
        let mut subscriber = Subscriber {
            reader,
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            writer: Arc::new(Mutex::new(WriteSide { writer, pings: 0 })),
            pongs: watch::channel(0).0,
        };
        let settings = info.redis_settings();
        if let Some(password) = settings.password() {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            auth.extend(settings.username().map(str::as_bytes));
            auth.push(password.as_bytes());
            subscriber.command(&auth).await?;
            match subscriber.reply().await? {
                Frame::One(Item::Simple(_)) => {}
                other => return Err(refused("AUTH", &other)),
            }
        }
        Ok(subscriber)
    }

    /// A handle for the probes.
    pub fn pinger(&self) -> Pinger {
        Pinger {
            writer: self.writer.clone(),
            pongs: self.pongs.subscribe(),
        }
    }

    /// Subscribes to each pattern; returns once the server has confirmed
    /// them all.
    pub async fn psubscribe(&mut self, patterns: &[String]) -> Result<(), Failure> {
        let mut command: Vec<&[u8]> = vec![b"PSUBSCRIBE"];
        command.extend(patterns.iter().map(String::as_bytes));
        self.command(&command).await?;
        for pattern in patterns {
            let frame = self.reply().await?;
            match frame.items() {
                [
                    Item::Bulk(b"psubscribe"),
                    Item::Bulk(confirmed),
                    Item::Int(_),
                ] if *confirmed == pattern.as_bytes() => {}
                _ => return Err(refused(&format!("PSUBSCRIBE {pattern}"), &frame)),
            }
        }
        Ok(())
    }

    /// Reads what the socket holds into the buffer (waiting until it holds
    /// something); `Ok(0)` when the server has closed the connection.
    /// Cancel-safe: nothing is lost if another branch of a `select!` wins.
    pub async fn read(&mut self) -> io::Result<usize> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 0 && self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(READ_CHUNK);
        self.reader.read_buf(&mut self.buf).await
    }

    /// The next message the buffer holds whole, if any; answers to PING are
    /// taken here and confirmations of the subscription passed over.
    pub fn next_message(&mut self) -> Result<Option<Message<'_>>, Failure> {
        let Subscriber {
            buf, start, pongs, ..
        } = self;
        loop {
            let Some((frame, len)) = resp::parse(&buf[*start..])? else {
                return Ok(None);
            };
            *start += len;
            match frame.items() {
                [
                    Item::Bulk(b"pmessage"),
                    _pattern,
                    Item::Bulk(channel),
                    Item::Bulk(payload),
                ] => return Ok(Some(Message { channel, payload })),
                [Item::Bulk(kind), ..] if kind.eq_ignore_ascii_case(b"pong") => {
                    pongs.send_modify(|seen| *seen += 1);
                }
                [Item::Bulk(b"psubscribe" | b"punsubscribe"), ..] => {}
                _ => {
                    return Err(match frame {
                        Frame::One(Item::Error(text)) => Failure::Refused {
                            what: "a subscribed connection's command".to_string(),
                            reply: String::from_utf8_lossy(text).into_owned(),
                        },
                        _ => Failure::Malformed(Malformed("a frame that is not pub/sub")),
                    });
                }
            }
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> io::Result<()> {
        let mut bytes = Vec::new();
        resp::command(&mut bytes, args);
        self.writer.lock().await.writer.write_all(&bytes).await
    }

    /// The next frame, read until it has arrived whole (at connect only:
    /// before any message can arrive).
    async fn reply(&mut self) -> Result<Frame<'_>, Failure> {
        let len = loop {
            if let Some((_, len)) = resp::parse(&self.buf[self.start..])? {
                break len;
            }
            if self.read().await? == 0 {
                return Err(Failure::Closed);
            }
        };
        let at = self.start;
        self.start += len;
        let (frame, _) = resp::parse(&self.buf[at..at + len])?.expect("parsed whole above");
        Ok(frame)
    }
}

fn refused(what: &str, frame: &Frame<'_>) -> Failure {
    let reply = match frame {
        Frame::One(Item::Error(text) | Item::Simple(text)) => {
            String::from_utf8_lossy(text).into_owned()
        }
        other => format!("{other:?}"),
    };
    Failure::Refused {
        what: what.to_string(),
        reply,
    }
}
