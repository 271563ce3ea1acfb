//! Reaching the engine: picking the address (flag, `DOCKER_HOST`, local
//! socket), building the client, and negotiating the API version down to
//! what the engine speaks (bollard defaults to a newer one than 20.10's).

use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::{DockerError, error_chain};

const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";
/// How long one request may wait for the engine's answer. Streams (events,
/// logs) are not bound by it once the answer has begun.
const REQUEST_TIMEOUT_SECS: u64 = 60;
/// An engine that does not answer the handshake this fast is down for our
/// purposes: better to say so and retry than to hang silently.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The address evaltop will use for `host`, with its scheme: the flag,
/// else `DOCKER_HOST`, else the local socket.
pub(crate) fn describe_host(host: Option<&str>) -> String {
    let chosen = host
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .or_else(|| {
            std::env::var("DOCKER_HOST")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| LOCAL_SOCKET.to_string());
    if chosen.starts_with('/') {
        format!("unix://{chosen}")
    } else {
        chosen
    }
}

/// Connects and negotiates the API version. `host`: `None` means
/// `DOCKER_HOST`, else the local socket; `unix:///path`, `tcp://host:port`
/// and `http://host:port` all work (a bare `/path` is taken as a socket).
pub async fn connect(host: Option<&str>) -> Result<Docker, DockerError> {
    let address = describe_host(host);
    let client = client_for(&address)?;
    let unreachable = |detail: String| DockerError::Unreachable {
        address: address.clone(),
        detail,
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, client.negotiate_version()).await {
        Err(_) => Err(DockerError::NoAnswer {
            what: format!("the handshake at {address}"),
            after: HANDSHAKE_TIMEOUT,
        }),
        Ok(Err(err)) => Err(unreachable(error_chain(&err))),
        Ok(Ok(docker)) => Ok(docker),
    }
}

/// The client for an address. Building it does no IO, except that bollard
/// checks that a socket file exists.
fn client_for(address: &str) -> Result<Docker, DockerError> {
    let built = if address.starts_with("unix://") {
        Docker::connect_with_unix(address, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else if address.starts_with("tcp://") || address.starts_with("http://") {
        Docker::connect_with_http(address, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else {
        return Err(DockerError::BadHost {
            host: address.to_string(),
            detail: "use unix:///path/to/docker.sock, tcp://host:port or http://host:port"
                .to_string(),
        });
    };
    built.map_err(|err| match err {
        bollard::errors::Error::SocketNotFoundError(path) => DockerError::Unreachable {
            address: address.to_string(),
            detail: format!("no socket at {path}"),
        },
        other => DockerError::Unreachable {
            address: address.to_string(),
            detail: error_chain(&other),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_hosts_keep_their_scheme_and_bare_paths_become_sockets() {
        assert_eq!(
            describe_host(Some("tcp://10.0.0.2:2375")),
            "tcp://10.0.0.2:2375"
        );
        assert_eq!(
            describe_host(Some("unix:///run/d.sock")),
            "unix:///run/d.sock"
        );
        assert_eq!(describe_host(Some("/run/d.sock")), "unix:///run/d.sock");
    }

    #[test]
    fn unknown_schemes_are_refused_with_a_hint() {
        let err = client_for("ftp://x").unwrap_err();
        assert!(matches!(err, DockerError::BadHost { .. }), "{err:?}");
        assert!(err.to_string().contains("tcp://host:port"), "{err}");
    }

    #[test]
    fn a_missing_socket_names_the_address() {
        let err = client_for("unix:///nonexistent/evaltop.sock").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot reach Docker at unix:///nonexistent/evaltop.sock: no socket at /nonexistent/evaltop.sock"
        );
    }
}
