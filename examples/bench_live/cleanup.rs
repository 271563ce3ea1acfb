//! What the driver must undo however it ends. Each owner (a tmux server, a
//! redis-server, the containers) removes its own on drop; this registry is
//! for an interrupt (Ctrl-C, SIGTERM, SIGHUP), where no drop runs: it
//! kills the registered processes by pid, ends the registered tmux servers
//! and removes every container carrying this run's label.

use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Every container the driver makes carries this label, valued with the
/// run's id: a run removes only its own, since another may be going.
pub const LABEL: &str = "drv-bench";

#[derive(Default)]
struct Registry {
    run: String,
    pids: Vec<u32>,
    tmux_sockets: Vec<String>,
    images: Vec<String>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);
/// Set once the interrupt's sweep has begun: what is started after it (the
/// figures run on while it sweeps) is ended at once.
static SWEEPING: AtomicBool = AtomicBool::new(false);

fn with(f: impl FnOnce(&mut Registry)) {
    let mut guard = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Registry::default));
}

pub fn set_run(run: &str) {
    with(|r| r.run = run.to_string());
}

pub fn pid(pid: u32) {
    if SWEEPING.load(Ordering::SeqCst) {
        kill(pid);
        return;
    }
    with(|r| r.pids.push(pid));
}

fn kill(pid: u32) {
    // SAFETY: kill with a pid this process started and has not reaped.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
}

pub fn forget_pid(pid: u32) {
    with(|r| r.pids.retain(|p| *p != pid));
}

pub fn tmux(socket: &str) {
    if SWEEPING.load(Ordering::SeqCst) {
        end_tmux(socket);
        return;
    }
    with(|r| r.tmux_sockets.push(socket.to_string()));
}

fn end_tmux(socket: &str) {
    // A server already gone is fine.
    let _ = Command::new("tmux")
        .args(["-L", socket, "kill-server"])
        .output();
}

pub fn forget_tmux(socket: &str) {
    with(|r| r.tmux_sockets.retain(|s| s != socket));
}

pub fn image(reference: &str) {
    with(|r| r.images.push(reference.to_string()));
}

/// The containers labelled `filter` (`LABEL` or `LABEL=run`).
fn labelled(filter: &str) -> Vec<String> {
    let listed = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label={filter}")])
        .output();
    match listed {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        Err(error) => {
            eprintln!("cannot list containers labelled {filter}: {error}");
            Vec::new()
        }
    }
}

/// How many containers other runs of this driver have now: going, or left
/// by a run that was killed outright.
pub fn others(run: &str) -> usize {
    labelled(LABEL).len() - labelled(&format!("{LABEL}={run}")).len()
}

/// Removes this run's containers (labelled `LABEL=run`); returns how many.
pub fn remove_labelled(run: &str) -> usize {
    let ids = labelled(&format!("{LABEL}={run}"));
    for chunk in ids.chunks(100) {
        let result = Command::new("docker")
            .args(["rm", "-f", "-v"])
            .args(chunk)
            .output();
        if let Err(error) = result {
            eprintln!("cannot remove containers: {error}");
        }
    }
    ids.len()
}

/// Undoes everything registered; for the interrupt path.
pub fn sweep() {
    SWEEPING.store(true, Ordering::SeqCst);
    let registry = REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    for socket in &registry.tmux_sockets {
        end_tmux(socket);
    }
    for pid in &registry.pids {
        kill(*pid);
    }
    if !registry.run.is_empty() {
        remove_labelled(&registry.run);
    }
    for image in &registry.images {
        let _ = Command::new("docker").args(["rmi", "-f", image]).output();
    }
}

/// On Ctrl-C, SIGTERM or SIGHUP: sweeps and exits with 130.
pub fn on_interrupt() {
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            eprintln!("cannot watch signals: an interrupt will leave things behind");
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        eprintln!("\ninterrupted: removing what this run made");
        tokio::task::spawn_blocking(sweep).await.ok();
        std::process::exit(130);
    });
}
