//! The Redis side of the actions: forcing an evaluation failed (publish on
//! `evaluation:failed`, then wait for the storage worker's confirmation),
//! cleaning its running state (DEL, SREM, then check both are gone), and
//! reading `logs:{id}:latest`.

use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue};
use serde_json::Value;

use super::{EffectError, EffectRunner, seconds};
use crate::actions::{ActionKind, Outcome, OutcomeDetail, Target};
use crate::model::Ts;
use crate::names::Names;
use crate::sources::redis::redact_url;

/// How long to wait for a connection or a subscription.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);
/// How long one command may take.
const COMMAND_WITHIN: Duration = Duration::from_secs(10);

/// One effect's connection to Redis, opened on first use: an effect that
/// never needs Redis (or a read-only one) never connects.
pub(super) struct Link<'a> {
    client: &'a Client,
    url: String,
    conn: Option<MultiplexedConnection>,
    /// A failed connect, remembered so that the rest of the effect fails
    /// at once instead of waiting out the connect timeout again (a kill
    /// must not wait three times for an unreachable audit stream).
    failed: Option<String>,
}

impl<'a> Link<'a> {
    pub(super) fn new(client: &'a Client, url: &str) -> Self {
        Link {
            client,
            url: redact_url(url),
            conn: None,
            failed: None,
        }
    }

    pub(super) async fn conn(&mut self) -> Result<&mut MultiplexedConnection, EffectError> {
        if let Some(detail) = &self.failed {
            return Err(EffectError::RedisConnect {
                url: self.url.clone(),
                detail: detail.clone(),
            });
        }
        if self.conn.is_none() {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(CONNECT_WITHIN))
                .set_response_timeout(Some(COMMAND_WITHIN));
            match self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(conn) => self.conn = Some(conn),
                Err(error) => {
                    let detail = error.to_string();
                    self.failed = Some(detail.clone());
                    return Err(EffectError::RedisConnect {
                        url: self.url.clone(),
                        detail,
                    });
                }
            }
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    pub(super) async fn query<T: FromRedisValue>(
        &mut self,
        command: &'static str,
        cmd: &Cmd,
    ) -> Result<T, EffectError> {
        let conn = self.conn().await?;
        cmd.query_async(conn).await.map_err(|e| EffectError::Redis {
            command,
            detail: e.to_string(),
        })
    }

    /// A dedicated pub/sub connection subscribed to `channel`; returns once
    /// the server has confirmed the subscription.
    async fn subscribe(&self, channel: &str) -> Result<redis::aio::PubSub, EffectError> {
        let timeout = |what| EffectError::Timeout {
            url: self.url.clone(),
            what,
            secs: CONNECT_WITHIN.as_secs(),
        };
        let mut pubsub = tokio::time::timeout(CONNECT_WITHIN, self.client.get_async_pubsub())
            .await
            .map_err(|_| timeout("a pub/sub connection"))?
            .map_err(|e| EffectError::RedisConnect {
                url: self.url.clone(),
                detail: e.to_string(),
            })?;
        tokio::time::timeout(CONNECT_WITHIN, pubsub.subscribe(channel))
            .await
            .map_err(|_| timeout("SUBSCRIBE"))?
            .map_err(|e| EffectError::Redis {
                command: "SUBSCRIBE",
                detail: e.to_string(),
            })?;
        Ok(pubsub)
    }
}

/// Publishes the forced failure, subscribed to the confirmations first so
/// that a quick one cannot be missed, and waits up to `wait` for one that
/// names this evaluation.
pub(super) async fn force_fail(
    runner: &EffectRunner,
    link: &mut Link<'_>,
    target: &Target,
    payload: &Value,
    wait: Duration,
) -> Outcome {
    let names = &runner.inner.config.names;
    let done = |ok: bool, summary: String, confirmed: bool, receivers: i64| {
        Outcome::new(
            ActionKind::ForceFail,
            target.clone(),
            ok,
            summary,
            Ts::now(),
        )
        .with_detail(OutcomeDetail::ForceFail {
            confirmed,
            receivers,
            offer_clean: !confirmed,
        })
    };
    let confirmations = names.storage_channel("updated");
    let mut pubsub = match link.subscribe(&confirmations).await {
        Ok(pubsub) => pubsub,
        Err(error) => return done(false, format!("not published: {error}"), false, 0),
    };
    let channel = names.status_channel("failed");
    let publish = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(payload.to_string())
        .clone();
    let receivers: i64 = match link.query("PUBLISH", &publish).await {
        Ok(receivers) => receivers,
        Err(error) => return done(false, format!("not published: {error}"), false, 0),
    };
    if receivers == 0 {
        return done(
            false,
            format!("published, but nobody subscribes to {channel}: not confirmed"),
            false,
            0,
        );
    }
    let mut messages = pubsub.on_message();
    let waited = tokio::time::timeout(wait, async {
        while let Some(message) = messages.next().await {
            if names_eval(message.get_payload_bytes(), &target.eval_id) {
                return true;
            }
        }
        false
    })
    .await;
    match waited {
        Ok(true) => done(true, "confirmed by storage".to_string(), true, receivers),
        Ok(false) => done(
            false,
            "not confirmed: the pub/sub connection closed while waiting".to_string(),
            false,
            receivers,
        ),
        Err(_elapsed) => done(
            false,
            format!("not confirmed in {}", seconds(wait)),
            false,
            receivers,
        ),
    }
}

/// Whether a confirmation payload names `eval_id`. Anything unreadable is
/// someone else's message.
fn names_eval(payload: &[u8], eval_id: &str) -> bool {
    // Not JSON: not a confirmation of ours, and not ours to report.
    serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|v| {
            v.get("eval_id")
                .and_then(Value::as_str)
                .map(|id| id == eval_id)
        })
        .unwrap_or(false)
}

/// DEL `eval:{id}:running`, SREM the id from `running_evaluations`, then
/// EXISTS and SISMEMBER: the state is clean only if both say it is gone.
pub(super) async fn clean_running(
    runner: &EffectRunner,
    link: &mut Link<'_>,
    target: &Target,
) -> Outcome {
    let names = &runner.inner.config.names;
    let id = target.eval_id.as_str();
    let key = Names::key_for(&names.running_key, id);
    let set = names.running_set.as_str();
    let result: Result<_, EffectError> = async {
        let deleted: i64 = link.query("DEL", redis::cmd("DEL").arg(&key)).await?;
        let removed: i64 = link
            .query("SREM", redis::cmd("SREM").arg(set).arg(id))
            .await?;
        let exists: i64 = link.query("EXISTS", redis::cmd("EXISTS").arg(&key)).await?;
        let member: i64 = link
            .query("SISMEMBER", redis::cmd("SISMEMBER").arg(set).arg(id))
            .await?;
        Ok((deleted, removed, exists == 0, member == 0))
    }
    .await;
    let outcome = |ok, summary, key_gone, member_gone| {
        Outcome::new(
            ActionKind::CleanRunning,
            target.clone(),
            ok,
            summary,
            Ts::now(),
        )
        .with_detail(OutcomeDetail::CleanRunning {
            key_gone,
            member_gone,
        })
    };
    match result {
        Err(error) => outcome(false, format!("not cleaned: {error}"), false, false),
        Ok((deleted, removed, key_gone, member_gone)) => {
            if key_gone && member_gone {
                let key_did = if deleted > 0 {
                    "deleted"
                } else {
                    "was already gone"
                };
                let set_did = if removed > 0 {
                    "removed from"
                } else {
                    "was not in"
                };
                let summary =
                    format!("running state cleared, checked: {key} {key_did}, id {set_did} {set}");
                outcome(true, summary, true, true)
            } else {
                let mut left = Vec::new();
                if !key_gone {
                    left.push(format!("{key} exists again"));
                }
                if !member_gone {
                    left.push(format!("id is back in {set}"));
                }
                let summary = format!("not cleaned: {}", left.join(", "));
                outcome(false, summary, key_gone, member_gone)
            }
        }
    }
}

/// `logs:{id}:latest` and its PTTL; `None` when the key is absent.
pub(super) async fn latest_log(
    runner: &EffectRunner,
    link: &mut Link<'_>,
    eval_id: &str,
) -> Result<Option<(Vec<u8>, i64)>, EffectError> {
    let key = Names::key_for(&runner.inner.config.names.latest_log_key, eval_id);
    let value: Option<Vec<u8>> = link.query("GET", redis::cmd("GET").arg(&key)).await?;
    let Some(value) = value else {
        return Ok(None);
    };
    let pttl: i64 = link.query("PTTL", redis::cmd("PTTL").arg(&key)).await?;
    Ok(Some((value, pttl)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confirmation_naming_the_evaluation_counts() {
        assert!(names_eval(br#"{"eval_id":"e1","status":"failed"}"#, "e1"));
        assert!(!names_eval(br#"{"eval_id":"e2"}"#, "e1"));
        assert!(!names_eval(br#"{"eval_id":1}"#, "1"));
        assert!(!names_eval(b"not json", "e1"));
    }
}
