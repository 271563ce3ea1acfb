//! Re-reading one evaluation's truth right after an action changed it:
//! its container (an inspect) and the Redis keys (one full read, so that
//! what it does not list is absent, as at a resync). The flags then follow
//! the action at once instead of at the next resync.

use super::EffectRunner;
use super::redis::Link;
use crate::actions::Target;
use crate::model::Observation;
use crate::sources::docker::{DockerError, inspect};

/// What Docker and Redis say now; a source that cannot answer is left out
/// (the regular resync will say why).
pub(super) async fn reread(runner: &EffectRunner, target: &Target) -> Vec<Observation> {
    let mut out = Vec::new();
    if let Some(container_id) = target.container_id.as_deref() {
        // What the engine says is named after it, as its source names it.
        let engine = runner.engine_of(target).unwrap_or_default();
        match runner.docker(target).await {
            Ok(docker) => match inspect(&docker, &runner.inner.config.names, container_id).await {
                Ok(facts) => out.push(Observation::DockerInspect(facts).with_engine(&engine)),
                Err(DockerError::NotFound) => out.push(Observation::DockerGone {
                    engine,
                    container_id: container_id.to_string(),
                    eval_id: target.eval_id.clone(),
                }),
                Err(error) => tracing::debug!(%error, "re-read: no inspect"),
            },
            Err(error) => tracing::debug!(%error, "re-read: no Docker"),
        }
    }
    let mut link = Link::new(&runner.inner.redis, &runner.inner.config.redis_url);
    match link.conn().await {
        Ok(conn) => {
            match crate::sources::redis::read_keys(conn, &runner.inner.config.names).await {
                // Rejected values are counted by the regular resync: counting
                // them here too would count them twice.
                Ok((snapshot, _rejected)) => out.push(Observation::RedisKeys(snapshot)),
                Err(error) => tracing::debug!(%error, "re-read: no keys"),
            }
        }
        Err(error) => tracing::debug!(%error, "re-read: no Redis"),
    }
    out
}
