//! A program on a tmux server of the driver's own, and its screen read
//! back through one tmux control-mode client: polling every few ms costs a
//! line on a pipe, not a process spawn per look, which would compete with
//! the program measured for the machine's two cores.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

use crate::cleanup;
use crate::support::docker::random_hex;

/// How long tmux may take to answer one command.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

pub struct Screen {
    socket: String,
    session: String,
    control: Child,
    commands: ChildStdin,
    answers: mpsc::Receiver<Result<String, String>>,
    pid: u32,
    /// The server's socket file, removed after the server is ended.
    socket_path: String,
}

impl Screen {
    /// Runs `command` (exec'd, so that the pane's pid is the program's) in
    /// a `width`x`height` window that stays open, with its last screen,
    /// if the program exits.
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Result<Screen> {
        let socket = format!("drv-{name}-{}", random_hex());
        let session = format!("drv-{name}");
        cleanup::tmux(&socket);
        let tmux = |args: &[&str]| tmux_run(&socket, args);
        let (w, h) = (width.to_string(), height.to_string());
        tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &w,
            "-y",
            &h,
        ])?;
        tmux(&["set-option", "-g", "window-size", "manual"])?;
        tmux(&["set-option", "-g", "remain-on-exit", "on"])?;
        tmux(&["resize-window", "-t", &session, "-x", &w, "-y", &h])?;
        tmux(&[
            "respawn-pane",
            "-k",
            "-t",
            &session,
            &format!("exec {command}"),
        ])?;
        let pid = tmux(&["display-message", "-p", "-t", &session, "#{pane_pid}"])?
            .trim()
            .parse()
            .wrap_err("tmux gave no pane pid")?;
        let socket_path = tmux(&["display-message", "-p", "-t", &session, "#{socket_path}"])?
            .trim()
            .to_string();
        let mut control = Command::new("tmux")
            .args(["-L", &socket, "-C", "attach-session", "-t", &session])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .wrap_err("cannot attach a tmux control client")?;
        let commands = control.stdin.take().expect("piped");
        let stdout = control.stdout.take().expect("piped");
        let (tx, answers) = mpsc::channel();
        let trace = std::env::var_os("DRV_TMUX_TRACE")
            .map(|dir| std::path::Path::new(&dir).join(format!("{socket}.trace")));
        std::thread::spawn(move || read_answers(BufReader::new(stdout), tx, trace));
        let mut screen = Screen {
            socket,
            session,
            control,
            commands,
            answers,
            pid,
            socket_path,
        };
        // Skip whatever the attach itself answered; then the pane's output
        // is not wanted on the control pipe, only the answers. tmux may not
        // count the client as attached at once: asked again.
        screen.send("display-message -p drv-ready")?;
        let deadline = Instant::now() + ANSWER_WITHIN;
        while !screen.answer(deadline)?.contains("drv-ready") {}
        let mut quiet = screen.ask("refresh-client -f no-output");
        for _ in 0..20 {
            if quiet.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            quiet = screen.ask("refresh-client -f no-output");
        }
        quiet.wrap_err("tmux would not stop sending the pane's output to the control client")?;
        Ok(screen)
    }

    /// The program's pid (the pane's).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn send(&mut self, command: &str) -> Result<()> {
        writeln!(self.commands, "{command}")
            .and_then(|()| self.commands.flush())
            .wrap_err("the tmux control client has gone")
    }

    fn answer(&mut self, deadline: Instant) -> Result<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.answers.recv_timeout(left) {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(error)) => Err(eyre!("tmux refused a command: {}", error.trim())),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(eyre!("tmux did not answer within {ANSWER_WITHIN:?}"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.control.try_wait().ok().flatten();
                Err(eyre!(
                    "the tmux control client has exited ({})",
                    status.map_or("still running".to_string(), |s| s.to_string())
                ))
            }
        }
    }

    fn ask(&mut self, command: &str) -> Result<String> {
        self.send(command)?;
        self.answer(Instant::now() + ANSWER_WITHIN)
            .wrap_err_with(|| format!("tmux {command}"))
    }

    /// The screen as text, one line per row.
    pub fn text(&mut self) -> Result<String> {
        let command = format!("capture-pane -p -t {}", self.session);
        self.ask(&command)
    }

    /// Types `key` (a tmux key name such as Home).
    pub fn key(&mut self, key: &str) -> Result<()> {
        let command = format!("send-keys -t {} {key}", self.session);
        self.ask(&command).map(drop)
    }

    /// Whether the program has exited (its pane stays, dead).
    pub fn exited(&mut self) -> bool {
        let command = format!("display-message -p -t {} '#{{pane_dead}}'", self.session);
        self.ask(&command).is_ok_and(|a| a.trim() == "1")
    }

    /// Polls every `every` until `done` accepts the screen; the screen and
    /// when it was read. On timeout the error shows `what` and the screen.
    pub fn wait_until(
        &mut self,
        what: &str,
        within: Duration,
        every: Duration,
        mut done: impl FnMut(&str) -> bool,
    ) -> Result<(String, std::time::SystemTime)> {
        let deadline = Instant::now() + within;
        loop {
            let text = self.text()?;
            let at = std::time::SystemTime::now();
            if done(&text) {
                return Ok((text, at));
            }
            if Instant::now() >= deadline {
                let state = if self.exited() {
                    "the program has exited"
                } else {
                    "the program runs"
                };
                bail!("not within {within:?}: {what} ({state}); the screen:\n{text}");
            }
            std::thread::sleep(every);
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.control.kill();
        let _ = self.control.wait();
        // Ends the program too (SIGHUP): it restores its terminal and exits.
        let _ = tmux_run(&self.socket, &["kill-server"]);
        wait_gone(self.pid);
        // tmux may leave the file of a server it was told to end.
        let _ = std::fs::remove_file(&self.socket_path);
        cleanup::forget_tmux(&self.socket);
    }
}

/// Waits (a little) until `pid` has exited, so that what it writes as it
/// goes is written before its files are removed.
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .next()
                    .map(str::to_string)
            });
        match state.as_deref() {
            None | Some("Z" | "X") => return,
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn tmux_run(socket: &str, args: &[&str]) -> Result<String> {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .wrap_err("cannot run tmux (apt-get install tmux)")?;
    if !out.status.success() {
        bail!(
            "tmux {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Collects each command's answer, between `%begin` and `%end` (or
/// `%error`); notifications and other blocks are dropped.
fn read_answers(
    mut stdout: BufReader<std::process::ChildStdout>,
    tx: mpsc::Sender<Result<String, String>>,
    trace: Option<std::path::PathBuf>,
) {
    let mut trace = trace.and_then(|path| std::fs::File::create(path).ok());
    let mut block: Option<String> = None;
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match stdout.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Some(file) = &mut trace {
            // A debugging aid only: a failed write is not worth stopping for.
            let _ = file.write_all(&bytes);
        }
        // Not `lines()`: a notification of the pane's output may cut a
        // UTF-8 character in two, which is no reason to stop reading.
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end_matches(['\n', '\r']);
        match &mut block {
            // Only answers to this client's commands (flags 1): tmux also
            // wraps the attach in a block of its own, which may come after
            // the first answers.
            None if line.starts_with("%begin ") && line.ends_with(" 1") => {
                block = Some(String::new())
            }
            None => {}
            Some(text) if line.starts_with("%end ") => {
                if tx.send(Ok(std::mem::take(text))).is_err() {
                    return;
                }
                block = None;
            }
            Some(text) if line.starts_with("%error ") => {
                if tx.send(Err(std::mem::take(text))).is_err() {
                    return;
                }
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
}
