//! A TCP front for the local engine's socket whose event streams can be
//! made half-dead: the engine still answers pings, lists and inspects, but
//! the event streams open at that moment deliver nothing more, with no
//! error and no close, as a broken proxy does. Streams opened later work.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The swallow switches of the event streams open now.
type Streams = Arc<Mutex<Vec<Arc<AtomicBool>>>>;

pub struct StreamProxy {
    port: u16,
    streams: Streams,
    serving: tokio::task::JoinHandle<()>,
}

impl StreamProxy {
    pub async fn start() -> StreamProxy {
        let socket = match std::env::var("DOCKER_HOST") {
            Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
            Ok(host) if !host.is_empty() => {
                panic!("StreamProxy needs a unix socket, DOCKER_HOST is {host}")
            }
            _ => PathBuf::from("/var/run/docker.sock"),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a free port for the stream proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let streams = Streams::default();
        let serving = tokio::spawn(serve(listener, socket, streams.clone()));
        StreamProxy {
            port,
            streams,
            serving,
        }
    }

    /// `tcp://127.0.0.1:PORT`, for the source's host.
    pub fn address(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// From now on, the event streams open now deliver nothing; returns
    /// how many there were.
    pub fn swallow_open_streams(&self) -> usize {
        let streams = self.streams.lock().expect("not poisoned");
        for swallow in streams.iter() {
            swallow.store(true, Ordering::SeqCst);
        }
        streams.len()
    }
}

impl Drop for StreamProxy {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

async fn serve(listener: tokio::net::TcpListener, socket: PathBuf, streams: Streams) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, _) = accepted.expect("stream proxy accepts");
                connections.spawn(forward(tcp, socket.clone(), streams.clone()));
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Forwards one connection both ways; once a request on it asks for
/// `/events`, it is an event stream that can be swallowed.
async fn forward(tcp: tokio::net::TcpStream, socket: PathBuf, streams: Streams) {
    let unix = match tokio::net::UnixStream::connect(&socket).await {
        Ok(unix) => unix,
        Err(e) => {
            eprintln!("stream proxy cannot reach {}: {e}", socket.display());
            return;
        }
    };
    let (mut from_client, mut to_client) = tcp.into_split();
    let (mut from_engine, mut to_engine) = unix.into_split();
    let swallow = Arc::new(AtomicBool::new(false));
    let up = {
        let swallow = swallow.clone();
        async move {
            let mut registered = false;
            let mut chunk = vec![0u8; 16 * 1024];
            loop {
                let n = match from_client.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if !registered && chunk[..n].windows(7).any(|w| w == b"/events") {
                    registered = true;
                    streams.lock().expect("not poisoned").push(swallow.clone());
                }
                if to_engine.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = match from_engine.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Half-dead: what the engine sends goes nowhere, silently.
            if swallow.load(Ordering::SeqCst) {
                continue;
            }
            if to_client.write_all(&chunk[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either side ending ends the connection; a test proxy needs no more.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}
