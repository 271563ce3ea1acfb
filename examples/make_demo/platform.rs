//! The platform's side of the demo, done as its services do it: the API's
//! and storage worker's publications and keys, the executor's containers
//! (from an image built offline from the host's static busybox), and the
//! cleanup of everything the demo made.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use evaltop::sources::docker;

use super::{Case, WAIT};

pub fn new_id() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::UNIX_EPOCH
            .elapsed()
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let time = chrono::Utc::now().format("%Y%m%d_%H%M%S");
    format!("eval_{time}_{:08x}", hasher.finish() as u32)
}

fn iso_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// The platform's services, as far as the demo needs them: the API's and
/// storage worker's publications and keys, the executor's containers.
pub struct Platform {
    docker: Docker,
    redis: MultiplexedConnection,
    image: String,
    containers: Arc<Mutex<Vec<String>>>,
    cases: Mutex<Vec<(Case, String)>>,
}

impl Platform {
    pub async fn connect(redis_url: &str, cleanup: &mut Cleanup) -> Result<Platform> {
        let docker = docker::connect(None).await?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let redis = redis::Client::open(redis_url)?
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .wrap_err_with(|| format!("cannot connect to {redis_url}"))?;
        let image = import_image(&docker, cleanup).await?;
        Ok(Platform {
            docker,
            redis,
            image,
            containers: cleanup.containers.clone(),
            cases: Mutex::default(),
        })
    }

    pub fn staged(&self, case: Case, id: &str) {
        self.cases
            .lock()
            .expect("cases lock")
            .push((case, id.to_string()));
    }

    pub fn cases(&self) -> Vec<(Case, String)> {
        self.cases.lock().expect("cases lock").clone()
    }

    pub async fn cmd<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        Ok(cmd.query_async(&mut self.redis.clone()).await?)
    }

    pub async fn publish_raw(&self, channel: &str, payload: &str) -> Result<()> {
        self.cmd::<i64>(redis::cmd("PUBLISH").arg(channel).arg(payload))
            .await?;
        Ok(())
    }

    pub async fn publish(&self, channel: &str, payload: Value) -> Result<()> {
        self.publish_raw(channel, &payload.to_string()).await
    }

    /// The storage worker's confirmation that the durable record changed.
    pub async fn confirm(&self, id: &str, kind: &str, status: &str) -> Result<()> {
        let payload = json!({"eval_id": id, "timestamp": iso_now(), "status": status});
        self.publish(&format!("storage:evaluation:{kind}"), payload)
            .await
    }

    /// The API: submitted, then queued (with the pending key).
    pub async fn submit(&self, id: &str, code: &str, timeout: u32) -> Result<()> {
        let metadata = json!({"submitted_at": iso_now(), "timeout": timeout, "priority": 1});
        let payload =
            json!({"eval_id": id, "code": code, "language": "python", "metadata": metadata});
        self.publish("evaluation:submitted", payload.clone())
            .await?;
        self.confirm(id, "submitted", "submitted").await?;
        self.cmd::<()>(redis::cmd("SET").arg(format!("pending:{id}")).arg("queued"))
            .await?;
        self.publish("evaluation:queued", payload).await?;
        self.confirm(id, "queued", "queued").await
    }

    /// The executor starts the container; the storage service announces
    /// it; the storage worker sets the running keys.
    pub async fn start(
        &self,
        id: &str,
        executor: &str,
        script: &str,
        timeout: u32,
    ) -> Result<String> {
        let labels = [
            ("eval_id", id),
            ("executor", executor),
            ("created_at", &iso_now()),
            ("timeout", &timeout.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
            labels: Some(labels),
            tty: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&format!("evaltop-demo-{id}"))
            .build();
        let container = self.docker.create_container(Some(options), body).await?.id;
        self.containers
            .lock()
            .expect("containers lock")
            .push(container.clone());
        self.docker.start_container(&container, None).await?;
        let short = &container[..12];
        let running = json!({"eval_id": id, "executor_id": executor, "container_id": short, "timeout": timeout});
        self.publish("evaluation:running", running).await?;
        let key = json!({"executor_id": executor, "container_id": short, "started_at": iso_now(), "timeout": timeout});
        self.cmd::<i64>(redis::cmd("DEL").arg(format!("pending:{id}")))
            .await?;
        self.cmd::<i64>(redis::cmd("SADD").arg("running_evaluations").arg(id))
            .await?;
        self.cmd::<()>(
            redis::cmd("SET")
                .arg(format!("eval:{id}:running"))
                .arg(key.to_string())
                .arg("EX")
                .arg(timeout + 60),
        )
        .await?;
        self.confirm(id, "running", "running").await?;
        Ok(container)
    }

    /// The executor's live log message (and the latest-log key).
    pub async fn log(
        &self,
        id: &str,
        executor: &str,
        sequence: u32,
        content: &str,
        last: bool,
    ) -> Result<()> {
        let message = json!({"eval_id": id, "sequence": sequence, "timestamp": iso_now(),
            "content": content, "executor_id": executor, "is_final": last});
        self.publish(&format!("evaluation:{id}:logs"), message)
            .await?;
        self.cmd::<()>(
            redis::cmd("SET")
                .arg(format!("logs:{id}:latest"))
                .arg(content)
                .arg("EX")
                .arg(300),
        )
        .await
    }

    /// A completion on `evaluation:{channel}`, then the storage worker:
    /// keys cleared, record updated.
    pub async fn finish(&self, channel: &str, id: &str, mut payload: Value) -> Result<()> {
        payload["eval_id"] = json!(id);
        payload["completed_at"] = json!(iso_now());
        let status = payload["status"].as_str().unwrap_or(channel).to_string();
        self.publish(&format!("evaluation:{channel}"), payload)
            .await?;
        self.cmd::<i64>(redis::cmd("SREM").arg("running_evaluations").arg(id))
            .await?;
        self.cmd::<i64>(redis::cmd("DEL").arg(format!("eval:{id}:running")))
            .await?;
        self.confirm(id, "updated", &status).await
    }

    pub async fn wait_exit(&self, container: &str) -> Result<i64> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let state = self
                .docker
                .inspect_container(container, None)
                .await?
                .state
                .unwrap_or_default();
            if state.running != Some(true)
                && state
                    .finished_at
                    .as_deref()
                    .is_some_and(|t| !t.starts_with("0001"))
            {
                return state
                    .exit_code
                    .ok_or_else(|| eyre!("{container} ended without an exit code"));
            }
            sleep(Duration::from_millis(100)).await;
        }
        bail!("{container} still running after {WAIT:?}")
    }

    /// The executor's stop on timeout (a short grace: the demo's shell
    /// ignores SIGTERM, as PID 1 does, so it ends with SIGKILL, 137).
    pub async fn stop(&self, container: &str) -> Result<()> {
        let options = StopContainerOptionsBuilder::default().t(1).build();
        Ok(self.docker.stop_container(container, Some(options)).await?)
    }

    pub async fn remove(&self, container: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        Ok(self
            .docker
            .remove_container(container, Some(options))
            .await?)
    }

    /// Removes what the demo put in a Redis it did not start.
    pub async fn forget(&self) -> Result<()> {
        for (_, id) in self.cases() {
            self.cmd::<i64>(redis::cmd("SREM").arg("running_evaluations").arg(&id))
                .await?;
            let keys =
                ["eval:{}:running", "pending:{}", "logs:{}:latest"].map(|k| k.replace("{}", &id));
            self.cmd::<i64>(redis::cmd("DEL").arg(&keys[..])).await?;
        }
        Ok(())
    }
}

/// What the demo made, removed however it ends.
#[derive(Default)]
pub struct Cleanup {
    pub containers: Arc<Mutex<Vec<String>>>,
    image: Option<String>,
    redis: Option<Child>,
}

impl Cleanup {
    /// redis-server on a free port of 127.0.0.1, without persistence.
    pub fn start_redis(&mut self) -> Result<String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .wrap_err("cannot run redis-server (apt-get install redis-server)")?;
        self.redis = Some(child);
        let url = format!("redis://127.0.0.1:{port}");
        let client = redis::Client::open(url.as_str())?;
        for _ in 0..100 {
            if client.get_connection().is_ok() {
                return Ok(url);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("redis-server on port {port} did not answer")
    }

    pub fn run(&mut self) {
        let containers =
            std::mem::take(&mut *self.containers.lock().unwrap_or_else(|e| e.into_inner()));
        for container in containers {
            docker_cli(&["rm", "-f", "-v", &container]);
        }
        if let Some(image) = self.image.take() {
            docker_cli(&["rmi", "-f", &image]);
        }
        if let Some(mut redis) = self.redis.take() {
            // Already gone is fine: the wait reaps it either way.
            let _ = redis.kill();
            if let Err(e) = redis.wait() {
                eprintln!("cannot reap redis-server: {e}");
            }
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.run();
    }
}

/// Works outside the runtime too (drop after a panic); "No such" is fine.
fn docker_cli(args: &[&str]) {
    match Command::new("docker").args(args).output() {
        Ok(out)
            if out.status.success() || String::from_utf8_lossy(&out.stderr).contains("No such") => {
        }
        Ok(out) => eprintln!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => eprintln!("cannot run docker {}: {e}", args.join(" ")),
    }
}

/// Imports an image holding the host's static busybox (no registry).
async fn import_image(docker: &Docker, cleanup: &mut Cleanup) -> Result<String> {
    let busybox = ["/usr/bin/busybox", "/bin/busybox"]
        .into_iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or_else(|| eyre!("no busybox: apt-get install busybox-static"))?;
    let mut tar = Vec::new();
    for dir in ["bin/", "etc/", "tmp/", "proc/", "sys/", "dev/"] {
        tar_entry(&mut tar, dir, 0o755, b'5', "", &[]);
    }
    tar_entry(&mut tar, "bin/busybox", 0o755, b'0', "", &busybox);
    for applet in ["sh", "echo", "printf", "sleep"] {
        tar_entry(
            &mut tar,
            &format!("bin/{applet}"),
            0o777,
            b'2',
            "busybox",
            &[],
        );
    }
    tar.extend(std::iter::repeat_n(0u8, 1024));
    let tag = new_id().rsplit('_').next().unwrap_or("demo").to_string();
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo("evaltop-demo-busybox")
        .tag(&tag)
        .build();
    cleanup.image = Some(format!("evaltop-demo-busybox:{tag}"));
    let mut progress =
        docker.create_image(Some(options), Some(bollard::body_full(tar.into())), None);
    while let Some(step) = progress.next().await {
        step.wrap_err("importing the busybox image")?;
    }
    Ok(format!("evaltop-demo-busybox:{tag}"))
}

/// One ustar entry: directory (`5`), file (`0`) or symlink (`2`).
fn tar_entry(tar: &mut Vec<u8>, name: &str, mode: u32, kind: u8, link: &str, content: &[u8]) {
    let mut header = [0u8; 512];
    let octal = |width: usize, value: u64| format!("{value:0w$o}\0", w = width - 1).into_bytes();
    let mut put = |at: usize, value: &[u8]| header[at..at + value.len()].copy_from_slice(value);
    put(0, name.as_bytes());
    put(100, &octal(8, u64::from(mode)));
    put(108, &octal(8, 0));
    put(116, &octal(8, 0));
    put(124, &octal(12, content.len() as u64));
    put(136, &octal(12, 1_700_000_000));
    put(148, b"        ");
    put(156, &[kind]);
    put(157, link.as_bytes());
    put(257, b"ustar\0");
    put(263, b"00");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&header);
    tar.extend_from_slice(content);
    tar.extend(std::iter::repeat_n(0u8, (512 - content.len() % 512) % 512));
}
