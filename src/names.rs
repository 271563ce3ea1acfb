//! The platform's names (labels, channels, keys), with PROTOCOL.md's as
//! defaults. Kept in one place so that an operator can change them.

/// Label keys, channel prefixes and key patterns. `{id}` in a pattern
/// stands for the evaluation id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub label_eval_id: String,
    pub label_executor: String,
    pub label_created_at: String,
    pub label_timeout: String,
    /// `evaluation:` — status channels are `{prefix}{status}`, log channels
    /// `{prefix}{id}:logs`.
    pub channel_prefix: String,
    /// `storage:evaluation:` — the storage worker's confirmations.
    pub storage_prefix: String,
    pub running_set: String,
    pub running_key: String,
    pub pending_key: String,
    pub latest_log_key: String,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            label_eval_id: "eval_id".into(),
            label_executor: "executor".into(),
            label_created_at: "created_at".into(),
            label_timeout: "timeout".into(),
            channel_prefix: "evaluation:".into(),
            storage_prefix: "storage:evaluation:".into(),
            running_set: "running_evaluations".into(),
            running_key: "eval:{id}:running".into(),
            pending_key: "pending:{id}".into(),
            latest_log_key: "logs:{id}:latest".into(),
        }
    }
}

impl Names {
    /// The SCAN pattern for a key pattern: `eval:{id}:running` -> `eval:*:running`.
    pub fn scan_pattern(pattern: &str) -> String {
        pattern.replace("{id}", "*")
    }

    /// The id inside a key that matches `pattern`, if it matches.
    pub fn id_in_key<'a>(pattern: &str, key: &'a str) -> Option<&'a str> {
        let (before, after) = pattern.split_once("{id}")?;
        let id = key.strip_prefix(before)?.strip_suffix(after)?;
        (!id.is_empty()).then_some(id)
    }

    /// The key for `id` under `pattern`.
    pub fn key_for(pattern: &str, id: &str) -> String {
        pattern.replace("{id}", id)
    }

    pub fn status_channel(&self, status: &str) -> String {
        format!("{}{status}", self.channel_prefix)
    }

    pub fn storage_channel(&self, kind: &str) -> String {
        format!("{}{kind}", self.storage_prefix)
    }

    pub fn logs_channel(&self, id: &str) -> String {
        format!("{}{id}:logs", self.channel_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_out_of_keys() {
        let names = Names::default();
        assert_eq!(
            Names::id_in_key(&names.running_key, "eval:eval_1:running"),
            Some("eval_1")
        );
        assert_eq!(Names::id_in_key(&names.running_key, "eval::running"), None);
        assert_eq!(
            Names::id_in_key(&names.pending_key, "pending:a:b"),
            Some("a:b")
        );
        assert_eq!(Names::scan_pattern(&names.latest_log_key), "logs:*:latest");
    }
}
