//! Writing the audit: one JSON line appended to the audit file, and one
//! entry added to the `evaltop:audit` stream. A failure of either is
//! reported back (never thrown away), and never stops the action.

use std::path::Path;

use tokio::io::AsyncWriteExt;

use super::EffectRunner;
use super::redis::Link;
use crate::actions::AuditEntry;

impl EffectRunner {
    /// Writes `entry` wherever the audit goes; failures are pushed to
    /// `errors`, in words that name where the write failed. Read-only
    /// runners write the file only: the stream is a write to Redis.
    pub(super) async fn audit(
        &self,
        entry: &AuditEntry,
        link: &mut Link<'_>,
        errors: &mut Vec<String>,
    ) {
        let config = &self.inner.config;
        if let Some(path) = &config.audit.file {
            let _serialised = self.inner.audit_file.lock().await;
            if let Err(error) = append_line(path, &entry.to_line()).await {
                tracing::warn!(%error, path = %path.display(), "audit file not written");
                errors.push(format!(
                    "audit file {} not written: {error}",
                    path.display()
                ));
            }
        }
        if let Some(stream) = &config.audit.stream
            && !config.read_only
            && let Err(error) = xadd(link, stream, config.audit.stream_maxlen, entry).await
        {
            tracing::warn!(%error, stream, "audit stream not written");
            errors.push(format!("audit stream {stream} not written: {error}"));
        }
    }
}

/// Appends one line, creating the file (owner-only) and its directory.
async fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    // One write of the whole line: appends of concurrent evaltops do not
    // interleave within a line.
    file.write_all(line.as_bytes()).await?;
    // tokio writes in the background: flush to learn whether it worked.
    file.flush().await
}

async fn xadd(
    link: &mut Link<'_>,
    stream: &str,
    maxlen: u64,
    entry: &AuditEntry,
) -> Result<(), super::EffectError> {
    let mut cmd = ::redis::cmd("XADD");
    cmd.arg(stream).arg("MAXLEN").arg("~").arg(maxlen).arg("*");
    for (field, value) in entry.stream_fields() {
        cmd.arg(field).arg(value);
    }
    let _id: String = link.query("XADD", &cmd).await?;
    Ok(())
}
