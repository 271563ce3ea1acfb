//! The platform's side of a scenario, done as its services do it: the
//! storage service announcing `evaluation:running`, the storage worker
//! setting and clearing the running keys, the executor starting the
//! container, publishing the completion and removing the container.

use bollard::Docker;
use serde_json::{Value, json};

use super::docker::{ContainerSpec, TestContainer, TestImage, unique_eval_id};
use super::redis::RedisServer;

/// An evaluation started as the platform starts it: the executor creates
/// the container with its labels, the evaluation is marked running (see
/// `mark_running`, with the spec's timeout label), then the container
/// starts, so that the keys are there before anything can end.
pub async fn stage(
    redis: &RedisServer,
    docker: &Docker,
    image: &TestImage,
    spec: &ContainerSpec,
) -> TestContainer {
    let container = TestContainer::create(docker, image, spec).await;
    let timeout = spec
        .timeout
        .parse()
        .unwrap_or_else(|e| panic!("timeout label {:?}: {e}", spec.timeout));
    mark_running(redis, &spec.eval_id, &spec.executor, &container.id, timeout).await;
    container.begin(docker).await;
    container
}

/// A fresh evaluation's container, created and started by `executor` with
/// nothing on Redis's side.
pub async fn execute(
    docker: &Docker,
    image: &TestImage,
    executor: &str,
    script: &str,
) -> TestContainer {
    let spec = ContainerSpec::new(&unique_eval_id(), executor, script);
    TestContainer::start(docker, image, &spec).await
}

/// The storage service's `evaluation:running` and the storage worker's
/// keys: `running_evaluations` and `eval:{id}:running` (TTL timeout + 60 s).
pub async fn mark_running(
    redis: &RedisServer,
    eval_id: &str,
    executor: &str,
    container_id: &str,
    timeout: u32,
) {
    let short_id = &container_id[..12.min(container_id.len())];
    let key_value = json!({
        "executor_id": executor,
        "container_id": short_id,
        "started_at": chrono::Utc::now().to_rfc3339(),
        "timeout": timeout,
    });
    let _: i64 = redis
        .cmd(redis::cmd("SADD").arg("running_evaluations").arg(eval_id))
        .await;
    let _: () = redis
        .cmd(
            redis::cmd("SET")
                .arg(format!("eval:{eval_id}:running"))
                .arg(key_value.to_string())
                .arg("EX")
                .arg(timeout + 60),
        )
        .await;
    redis
        .publish(
            "evaluation:running",
            json!({
                "eval_id": eval_id,
                "executor_id": executor,
                "container_id": short_id,
                "timeout": timeout,
            })
            .to_string(),
        )
        .await;
}

/// The executor's completion, as it publishes it on `evaluation:{channel}`,
/// followed by what the storage worker does with it (the keys cleared).
pub async fn complete(redis: &RedisServer, channel: &str, payload: Value) {
    let eval_id = payload["eval_id"]
        .as_str()
        .expect("payload eval_id")
        .to_string();
    redis
        .publish(&format!("evaluation:{channel}"), payload.to_string())
        .await;
    let _: i64 = redis
        .cmd(redis::cmd("SREM").arg("running_evaluations").arg(&eval_id))
        .await;
    let _: i64 = redis
        .cmd(redis::cmd("DEL").arg(format!("eval:{eval_id}:running")))
        .await;
}

/// A failure payload as the executor writes it.
pub fn failure(eval_id: &str, executor: &str, output: &str, error: &str, exit_code: i64) -> Value {
    json!({
        "eval_id": eval_id,
        "status": "failed",
        "output": output,
        "error": error,
        "exit_code": exit_code,
        "executor_id": executor,
        "completed_at": chrono::Utc::now().to_rfc3339(),
    })
}
