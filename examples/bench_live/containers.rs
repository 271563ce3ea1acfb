//! The driver's containers on the machine's Docker engine: made from the
//! tests' offline busybox image, labelled as the platform's executor does
//! (eval_id, executor, created_at, timeout) plus this run's `drv-bench`
//! label, named `drv-...`, with no network. Also Docker's own times for
//! their deaths, from the engine's event stream.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, KillContainerOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use color_eyre::eyre::{Result, WrapErr, eyre};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::cleanup;
use crate::support::docker::{TestImage, created_at_now, docker, random_hex};

/// Containers created or removed at once in a batch: enough to keep the
/// engine busy, few enough not to starve the other users of the machine.
const CONCURRENCY: usize = 8;
/// How long any one engine call may take.
const CALL_WITHIN: Duration = Duration::from_secs(60);

pub struct Engine {
    pub docker: Docker,
    image: TestImage,
    run: String,
}

/// A death as Docker reports it.
#[derive(Clone, Copy, Debug)]
pub struct Death {
    /// The engine's time of the death.
    pub at: SystemTime,
    /// When the event reached the driver.
    pub received: SystemTime,
}

impl Engine {
    /// Connects and imports the image (removed when the engine is dropped).
    pub async fn connect(run: &str) -> Result<Engine> {
        let docker = docker().await;
        let image = tokio::time::timeout(CALL_WITHIN, TestImage::import(&docker))
            .await
            .map_err(|_| eyre!("importing the busybox image took over {CALL_WITHIN:?}"))?;
        cleanup::image(image.reference());
        Ok(Engine {
            docker,
            image,
            run: run.to_string(),
        })
    }

    /// Creates a container for `eval_id` running `script`; starts it when
    /// `start`. Its full id.
    pub async fn create(
        &self,
        eval_id: &str,
        executor: &str,
        script: &str,
        start: bool,
    ) -> Result<String> {
        let labels = HashMap::from([
            ("eval_id".to_string(), eval_id.to_string()),
            ("executor".to_string(), executor.to_string()),
            ("created_at".to_string(), created_at_now()),
            ("timeout".to_string(), "30".to_string()),
            (cleanup::LABEL.to_string(), self.run.clone()),
        ]);
        let body = ContainerCreateBody {
            image: Some(self.image.reference().to_string()),
            cmd: Some(vec!["sh".into(), "-c".into(), script.to_string()]),
            labels: Some(labels),
            tty: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!("drv-{}-{}", self.run, random_hex());
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = within(
            "create a container",
            self.docker.create_container(Some(options), body),
        )
        .await?;
        if start {
            within(
                "start a container",
                self.docker.start_container(&created.id, None),
            )
            .await?;
        }
        Ok(created.id)
    }

    pub async fn kill(&self, id: &str) -> Result<()> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        within(
            "kill a container",
            self.docker.kill_container(id, Some(options)),
        )
        .await
    }

    pub async fn remove(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        within(
            "remove a container",
            self.docker.remove_container(id, Some(options)),
        )
        .await
    }

    /// Creates `count` containers (not started) for `eval_ids`, a few at a
    /// time; their ids.
    pub async fn create_many(&self, eval_ids: &[String], executor: &str) -> Result<Vec<String>> {
        let results: Vec<Result<String>> = futures::stream::iter(eval_ids)
            .map(|eval_id| self.create(eval_id, executor, "sleep 3600", false))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    pub async fn remove_many(&self, ids: &[String]) -> Result<()> {
        let results: Vec<Result<()>> = futures::stream::iter(ids)
            .map(|id| self.remove(id))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Every `die` of this run's containers from now on, by container id.
    pub fn deaths(&self) -> mpsc::UnboundedReceiver<(String, Death)> {
        let label = format!("{}={}", cleanup::LABEL, self.run);
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            ("event", vec!["die".to_string()]),
            ("label", vec![label]),
        ]);
        // From a second ago: the stream may connect after the first kill.
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(Duration::from_secs(1));
        let options = EventsOptionsBuilder::default()
            .since(&format!("{}.{:09}", since.as_secs(), since.subsec_nanos()))
            .filters(&filters)
            .build();
        let mut events = self.docker.events(Some(options));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(event)) = events.next().await {
                let received = SystemTime::now();
                let id = event.actor.and_then(|a| a.id).unwrap_or_default();
                let at = event
                    .time_nano
                    .filter(|n| *n > 0)
                    .map(|n| UNIX_EPOCH + Duration::from_nanos(n as u64))
                    .unwrap_or(received);
                if tx.send((id, Death { at, received })).is_err() {
                    return;
                }
            }
        });
        rx
    }
}

async fn within<T>(
    what: &str,
    call: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T> {
    tokio::time::timeout(CALL_WITHIN, call)
        .await
        .map_err(|_| eyre!("Docker did not {what} within {CALL_WITHIN:?}"))?
        .wrap_err_with(|| format!("Docker could not {what}"))
}
