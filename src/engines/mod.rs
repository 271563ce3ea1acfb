//! Which container engines to watch: `--docker [NAME=]URL` (repeatable),
//! `EVALTOP_DOCKER` (comma-separated), the config's `[[docker]]` tables,
//! else `DOCKER_HOST`, else the local socket. Pure: no engine is contacted
//! here, only named and checked.

use crate::model::EngineName;

/// The local socket, when nothing names an engine.
pub const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";

/// One engine to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSpec {
    pub name: EngineName,
    /// `unix:///path`, `tcp://host:port` or `http://host:port`.
    pub url: String,
}

impl EngineSpec {
    /// The URL with any password replaced, for the screen and `check`.
    pub fn redacted_url(&self) -> String {
        crate::sources::redis::redact_url(&self.url)
    }
}

/// Reads `NAME=URL` or a bare URL, whose name is its host part (`local`
/// for a unix socket). `what` names where the text came from, for the
/// error ("--docker", "EVALTOP_DOCKER", "the config's [[docker]]").
pub fn parse_spec(text: &str, what: &str) -> Result<EngineSpec, String> {
    let text = text.trim();
    // A URL holds `=` only after its scheme (a query), a name before it.
    let (name, url) = match text.split_once('=') {
        Some((name, url)) if !name.contains("://") => (Some(name.trim()), url.trim()),
        Some(_) | None => (None, text),
    };
    let url = check_url(url).map_err(|e| format!("{what} {text:?}: {e}"))?;
    let name = match name {
        Some(name) => check_name(name).map_err(|e| format!("{what} {text:?}: {e}"))?,
        None => default_name(&url),
    };
    Ok(EngineSpec {
        name: EngineName::new(&name),
        url,
    })
}

/// A spec from the config's `name` and `url` (the name may be left out).
pub fn from_parts(name: Option<&str>, url: &str) -> Result<EngineSpec, String> {
    let what = "the config's [[docker]]";
    let shown = format!("name = {:?}, url = {url:?}", name.unwrap_or(""));
    let url = check_url(url).map_err(|e| format!("{what} {shown}: {e}"))?;
    let name = match name {
        Some(name) => check_name(name).map_err(|e| format!("{what} {shown}: {e}"))?,
        None => default_name(&url),
    };
    Ok(EngineSpec {
        name: EngineName::new(&name),
        url,
    })
}

fn check_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("the engine's name is empty (write NAME=URL or a bare URL)".to_string());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the engine's name may hold letters, digits, '-', '_' and '.', not {bad:?}"
        ));
    }
    Ok(name.to_string())
}

fn check_url(url: &str) -> Result<String, String> {
    let url = if url.starts_with('/') {
        format!("unix://{url}")
    } else {
        url.to_string()
    };
    let rest = ["unix://", "tcp://", "http://"]
        .into_iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    match rest {
        None => Err("use unix:///path/to/docker.sock, tcp://host:port or http://host:port".into()),
        Some(rest) if rest.trim().is_empty() => Err("the URL names no socket or host".into()),
        Some(rest) if url.starts_with("unix://") && !rest.starts_with('/') => {
            Err("a unix socket's path must be absolute (unix:///path)".into())
        }
        Some(_) => Ok(url),
    }
}

/// `local` for a socket, else the host part of the URL.
pub fn default_name(url: &str) -> String {
    if url.starts_with("unix://") || url.starts_with('/') {
        return "local".to_string();
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(host, _)| host),
    };
    if host.is_empty() {
        "local".to_string()
    } else {
        host.to_string()
    }
}

/// The engines in force: the flags (or `EVALTOP_DOCKER`, which clap reads
/// into the same list), else the config's, else `DOCKER_HOST`, else the
/// local socket. Two engines of one name are refused.
pub fn resolve(
    flags: &[String],
    config: &[EngineSpec],
    docker_host: Option<&str>,
) -> Result<Vec<EngineSpec>, String> {
    let engines = if !flags.is_empty() {
        flags
            .iter()
            .map(|text| parse_spec(text, "--docker"))
            .collect::<Result<Vec<_>, _>>()?
    } else if !config.is_empty() {
        config.to_vec()
    } else {
        match docker_host.map(str::trim).filter(|h| !h.is_empty()) {
            Some(host) => vec![parse_spec(host, "DOCKER_HOST")?],
            None => vec![parse_spec(LOCAL_SOCKET, "the local socket")?],
        }
    };
    for (at, engine) in engines.iter().enumerate() {
        if let Some(first) = engines[..at].iter().find(|e| e.name == engine.name) {
            return Err(format!(
                "--docker: two engines are named {:?} ({} and {}); name them apart with NAME=URL",
                engine.name.as_str(),
                first.url,
                engine.url
            ));
        }
    }
    Ok(engines)
}

#[cfg(test)]
mod tests;
