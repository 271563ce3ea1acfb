//! The Docker source against the real engine: what it reports for
//! containers that fail with and without a TTY, that ended before it
//! started, that are removed, that belong to another executor; and how it
//! behaves when the engine cannot be reached. Each test scopes the source to
//! an executor id of its own, so tests sharing the engine do not mix.

use evaltop::model::EngineName;
use std::time::Duration;

use evaltop::model::{
    ContainerAction, ContainerEvent, ContainerFacts, ContainerState, Observation, Source, Ts,
};
use evaltop::names::Names;
use evaltop::sources::Received;
use evaltop::sources::docker::{self, DockerConfig, DockerError, LOG_TAIL_BYTES};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::support::docker::{
    ContainerSpec, EngineProxy, TestContainer, TestImage, unique_eval_id, unique_executor,
};
use crate::support::platform::execute;

/// How long any one expectation may take to come true.
const WAIT: Duration = Duration::from_secs(20);

/// A running Docker source and everything it has sent so far.
struct Watch {
    rx: mpsc::Receiver<Received>,
    seen: Vec<Observation>,
    task: JoinHandle<()>,
}

impl Watch {
    fn start(host: Option<&str>, executors: &[&str]) -> Watch {
        let config = DockerConfig {
            engine: EngineName::new("local"),
            host: host.map(str::to_string),
            executors: executors.iter().map(|e| e.to_string()).collect(),
            resync: Duration::from_secs(1),
            liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
            names: Names::default(),
        };
        let (tx, rx) = mpsc::channel(4096);
        let task = tokio::spawn(docker::run(config, tx));
        Watch {
            rx,
            seen: Vec::new(),
            task,
        }
    }

    /// Receives until `found` returns something from all that was seen.
    async fn until<T>(
        &mut self,
        what: &str,
        mut found: impl FnMut(&[Observation]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(result) = found(&self.seen) {
                return result;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(received)) => self.seen.push(received.observation),
                Ok(None) => panic!("the source stopped while waiting for {what}"),
                Err(_) => panic!("no {what} within {WAIT:?}; saw:\n{}", self.summary()),
            }
        }
    }

    async fn connected(&mut self) {
        self.until("SourceUp", |seen| (ups(seen) > 0).then_some(()))
            .await;
    }

    fn summary(&self) -> String {
        self.seen
            .iter()
            .map(|o| format!("  {o:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn ups(seen: &[Observation]) -> usize {
    let up = |o: &&Observation| {
        matches!(
            o,
            Observation::SourceUp {
                source: Source::Docker(_),
                ..
            }
        )
    };
    seen.iter().filter(up).count()
}

fn event(seen: &[Observation], id: &str, action: ContainerAction) -> Option<ContainerEvent> {
    seen.iter().find_map(|o| match o {
        Observation::DockerEvent(e) if e.container_id == id && e.action == action => {
            Some(e.clone())
        }
        _ => None,
    })
}

fn inspected(seen: &[Observation], id: &str, state: ContainerState) -> Option<ContainerFacts> {
    seen.iter().find_map(|o| match o {
        Observation::DockerInspect(f) if f.container_id == id && f.state == Some(state) => {
            Some(f.clone())
        }
        _ => None,
    })
}

fn logs(seen: &[Observation], id: &str) -> Option<evaltop::model::CapturedLogs> {
    seen.iter().find_map(|o| match o {
        Observation::DockerLogs {
            container_id, logs, ..
        } if container_id == id => Some(logs.clone()),
        _ => None,
    })
}

/// The container as the first list that holds it shows it, with the list's
/// position among what was seen.
fn listed(seen: &[Observation], id: &str) -> Option<(usize, ContainerFacts)> {
    seen.iter().enumerate().find_map(|(at, o)| match o {
        Observation::DockerList { containers, .. } => containers
            .iter()
            .find(|c| c.container_id == id)
            .map(|c| (at, c.clone())),
        _ => None,
    })
}

/// Whether anything seen names `eval_id`.
fn mentions(seen: &[Observation], eval_id: &str) -> bool {
    seen.iter().any(|o| match o {
        Observation::DockerList { containers, .. } => {
            containers.iter().any(|c| c.eval_id == eval_id)
        }
        Observation::DockerEvent(e) => e.eval_id == eval_id,
        Observation::DockerInspect(f) => f.eval_id == eval_id,
        Observation::DockerGone { eval_id: id, .. }
        | Observation::DockerLogs { eval_id: id, .. } => id == eval_id,
        _ => false,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_without_a_tty_keeps_stdout_and_stderr_apart() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let mut watch = Watch::start(None, &[&executor]);
    watch.connected().await;

    let eval_id = unique_eval_id();
    let spec = ContainerSpec::new(
        &eval_id,
        &executor,
        "echo out-line; echo err-line >&2; exit 1",
    )
    .timeout("45");
    let container = TestContainer::start(&docker, &image, &spec).await;
    let id = container.id.as_str();

    let die = watch
        .until("die event", |s| event(s, id, ContainerAction::Die))
        .await;
    assert_eq!(die.eval_id, eval_id);
    assert_eq!(die.executor.as_deref(), Some(executor.as_str()));
    assert_eq!(die.exit_code_attr, Some(1));
    assert_eq!(die.timeout_label.as_deref(), Some("45"));
    assert_eq!(
        die.created_at_label.as_deref(),
        Some(spec.created_at.as_str())
    );

    let facts = watch
        .until("inspect of the exited container", |s| {
            inspected(s, id, ContainerState::Exited)
        })
        .await;
    assert!(facts.inspected);
    assert_eq!(facts.eval_id, eval_id);
    assert_eq!(facts.exit_code, Some(1));
    assert_eq!(facts.tty, Some(false));
    assert_eq!(facts.oom_killed, Some(false));
    assert_eq!(facts.timeout_secs, Some(45));
    assert_eq!(facts.created_at, Ts::parse(&spec.created_at));
    // Docker may stamp a container that dies at once as finished a little
    // before it stamped it started: only a gross inversion is wrong.
    let (started, finished) = (
        facts.started_at.expect("started"),
        facts.finished_at.expect("finished"),
    );
    assert!(
        finished.since(started) > -1_000,
        "started {started}, finished {finished}"
    );

    let captured = watch.until("logs", |s| logs(s, id)).await;
    assert!(!captured.tty);
    assert_eq!(captured.stdout, "out-line\n");
    assert_eq!(captured.stderr, "err-line\n");
    assert_eq!(captured.total_bytes, 18);
    assert!(!captured.truncated);

    assert!(watch.seen.iter().any(|o| matches!(o, Observation::DockerEvent(e) if e.container_id == id && e.action == ContainerAction::Start)));
    let (_, entry) = watch
        .until("a list holding the container", |s| listed(s, id))
        .await;
    assert_eq!(entry.eval_id, eval_id);
    assert!(!entry.inspected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_with_a_tty_comes_back_as_one_sanitised_console() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let mut watch = Watch::start(None, &[&executor]);
    watch.connected().await;

    let eval_id = unique_eval_id();
    let script = r"echo tty-line; printf '\033[31mred\033[0m\n'; echo err-tty >&2; exit 1";
    let spec = ContainerSpec::new(&eval_id, &executor, script).tty(true);
    let container = TestContainer::start(&docker, &image, &spec).await;
    let id = container.id.as_str();

    let die = watch
        .until("die event", |s| event(s, id, ContainerAction::Die))
        .await;
    assert_eq!(die.exit_code_attr, Some(1));
    let facts = watch
        .until("inspect of the exited container", |s| {
            inspected(s, id, ContainerState::Exited)
        })
        .await;
    assert_eq!(facts.tty, Some(true));
    assert_eq!(facts.exit_code, Some(1));

    let captured = watch.until("logs", |s| logs(s, id)).await;
    assert!(captured.tty, "one console stream: {captured:?}");
    assert_eq!(
        captured.stdout, "tty-line\nred\nerr-tty\n",
        "CR LF folded, escapes removed"
    );
    assert_eq!(captured.stderr, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_that_ended_before_the_start_is_found_by_the_list() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let eval_id = unique_eval_id();
    let spec = ContainerSpec::new(
        &eval_id,
        &executor,
        "echo before-crash; echo trace >&2; exit 3",
    );
    let container = TestContainer::start(&docker, &image, &spec).await;
    assert_eq!(container.wait_exit(&docker).await, 3);
    let id = container.id.as_str();

    let mut watch = Watch::start(None, &[&executor]);
    let (list_at, entry) = watch
        .until("a list holding the container", |s| listed(s, id))
        .await;
    assert_eq!(entry.state, Some(ContainerState::Exited));
    let facts = watch
        .until("inspect", |s| inspected(s, id, ContainerState::Exited))
        .await;
    assert_eq!(facts.exit_code, Some(3));
    let captured = watch.until("logs", |s| logs(s, id)).await;
    assert_eq!(
        (captured.stdout.as_str(), captured.stderr.as_str()),
        ("before-crash\n", "trace\n")
    );

    let inspect_at = watch
        .seen
        .iter()
        .position(|o| matches!(o, Observation::DockerInspect(f) if f.container_id == id))
        .unwrap();
    assert!(
        list_at < inspect_at,
        "the list comes first, then what it led to"
    );
    assert!(
        event(&watch.seen, id, ContainerAction::Die).is_none(),
        "no event can bring this death again: the evidence came from the list"
    );
    // Read once: later relists do not inspect it again.
    watch
        .until("two more lists", |s| {
            (s[inspect_at..]
                .iter()
                .filter(|o| matches!(o, Observation::DockerList { .. }))
                .count()
                >= 2)
                .then_some(())
        })
        .await;
    let inspects = watch
        .seen
        .iter()
        .filter(|o| matches!(o, Observation::DockerInspect(f) if f.container_id == id))
        .count();
    assert_eq!(inspects, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_container_is_destroyed_and_leaves_the_list() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let mut watch = Watch::start(None, &[&executor]);
    watch.connected().await;

    let container = execute(&docker, &image, &executor, "exit 0").await;
    let eval_id = container.eval_id.clone();
    let id = container.id.as_str();
    watch
        .until("a list holding the container", |s| listed(s, id))
        .await;
    watch
        .until("inspect", |s| inspected(s, id, ContainerState::Exited))
        .await;

    container.remove();
    let removed_at = Ts::now();
    let destroy = watch
        .until("destroy event", |s| event(s, id, ContainerAction::Destroy))
        .await;
    assert_eq!(destroy.eval_id, eval_id);
    let absent = watch
        .until("a list requested after the removal", |s| {
            s.iter().find_map(|o| match o {
                Observation::DockerList {
                    containers,
                    requested_at,
                    ..
                } if *requested_at > removed_at => {
                    Some(containers.iter().all(|c| c.container_id != id))
                }
                _ => None,
            })
        })
        .await;
    assert!(
        absent,
        "the first list after the removal still holds the container"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_of_other_executors_are_not_reported() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let (mine, also_mine, other) = (unique_executor(), unique_executor(), unique_executor());
    let spec = |executor: &str| ContainerSpec::new(&unique_eval_id(), executor, "echo hello");

    // The other executor's container ends first, so that its events come
    // before those we wait for.
    let foreign = TestContainer::start(&docker, &image, &spec(&other)).await;
    foreign.wait_exit(&docker).await;

    // One executor: filtered by the engine.
    let mut watch = Watch::start(None, &[&mine]);
    watch.connected().await;
    let own = TestContainer::start(&docker, &image, &spec(&mine)).await;
    watch.until("own logs", |s| logs(s, &own.id)).await;
    watch
        .until("own die", |s| event(s, &own.id, ContainerAction::Die))
        .await;
    watch.until("own listed", |s| listed(s, &own.id)).await;
    assert!(
        !mentions(&watch.seen, &foreign.eval_id),
        "{}",
        watch.summary()
    );

    // Several executors: filtered by the source.
    let mut watch = Watch::start(None, &[&mine, &also_mine]);
    watch.connected().await;
    let second = TestContainer::start(&docker, &image, &spec(&also_mine)).await;
    watch.until("second logs", |s| logs(s, &second.id)).await;
    watch
        .until("second die", |s| event(s, &second.id, ContainerAction::Die))
        .await;
    watch
        .until("both listed", |s| {
            listed(s, &second.id).and(listed(s, &own.id))
        })
        .await;
    assert!(
        !mentions(&watch.seen, &foreign.eval_id),
        "{}",
        watch.summary()
    );
}

async fn keeps_retrying(host: &str) {
    let mut watch = Watch::start(Some(host), &[]);
    let reasons = watch
        .until("two SourceDown", |s| {
            Some(downs(s)).filter(|r| r.len() >= 2)
        })
        .await;
    for reason in &reasons {
        let expected = format!("cannot reach Docker at {host}: ");
        assert!(reason.starts_with(&expected), "{reason}");
    }
    assert_eq!(ups(&watch.seen), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_engine_is_reported_and_retried() {
    keeps_retrying("unix:///nonexistent/evaltop-test.sock").await;
    keeps_retrying("tcp://127.0.0.1:1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_of_a_missing_container_say_not_found() {
    let docker = crate::support::docker::docker().await;
    let missing = "0000000000000000000000000000000000000000000000000000000000000000";
    let names = Names::default();
    assert!(matches!(
        docker::inspect(&docker, &names, missing).await,
        Err(DockerError::NotFound)
    ));
    assert!(matches!(
        docker::capture_logs(&docker, missing).await,
        Err(DockerError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn long_output_keeps_only_its_tail() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let script =
        "seq 1 4000 | while read n; do echo \"line $n padding padding padding padding\"; done";
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), script);
    let container = TestContainer::start(&docker, &image, &spec).await;
    assert_eq!(container.wait_exit(&docker).await, 0);

    let captured = docker::capture_logs(&docker, &container.id)
        .await
        .expect("logs");
    assert!(captured.truncated);
    assert!(
        captured.total_bytes > LOG_TAIL_BYTES as u64,
        "{}",
        captured.total_bytes
    );
    assert!(
        captured.stdout.len() <= LOG_TAIL_BYTES,
        "{}",
        captured.stdout.len()
    );
    assert!(
        captured
            .stdout
            .ends_with("line 4000 padding padding padding padding\n")
    );
    assert!(!captured.stdout.contains("line 1 padding"));
}

fn downs(seen: &[Observation]) -> Vec<String> {
    seen.iter()
        .filter_map(|o| match o {
            Observation::SourceDown {
                source: Source::Docker(_),
                reason,
            } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_engine_is_reported_and_what_happened_meanwhile_is_caught_up() {
    let docker = crate::support::docker::docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let mut proxy = EngineProxy::start().await;
    let address = proxy.address();
    let mut watch = Watch::start(Some(&address), &[&executor]);
    watch.connected().await;

    // An event before the cut: the next stream starts from it.
    let before = execute(&docker, &image, &executor, "exit 0").await;
    watch
        .until("die before the cut", |s| {
            event(s, &before.id, ContainerAction::Die)
        })
        .await;

    proxy.cut().await;
    let lost = format!("lost Docker at {address}: ");
    watch
        .until("SourceDown for the lost stream", |s| {
            downs(s).into_iter().find(|r| r.starts_with(&lost))
        })
        .await;
    let refused = format!("cannot reach Docker at {address}: ");
    watch
        .until("SourceDown for a refused reconnect", |s| {
            downs(s).into_iter().find(|r| r.starts_with(&refused))
        })
        .await;

    // Dies while nobody watches.
    let meanwhile = execute(&docker, &image, &executor, "echo while-away; exit 2").await;
    let eval_id = meanwhile.eval_id.clone();
    assert_eq!(meanwhile.wait_exit(&docker).await, 2);
    assert_eq!(ups(&watch.seen), 1);

    proxy.restore().await;
    watch
        .until("SourceUp again", |s| (ups(s) == 2).then_some(()))
        .await;
    let id = meanwhile.id.as_str();
    let die = watch
        .until("the missed die, replayed", |s| {
            event(s, id, ContainerAction::Die)
        })
        .await;
    assert_eq!(
        (die.eval_id.as_str(), die.exit_code_attr),
        (eval_id.as_str(), Some(2))
    );
    let facts = watch
        .until("inspect", |s| inspected(s, id, ContainerState::Exited))
        .await;
    assert_eq!(facts.exit_code, Some(2));
    let captured = watch.until("logs", |s| logs(s, id)).await;
    assert_eq!(captured.stdout, "while-away\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_source_returns_when_its_sink_closes() {
    for host in [None, Some("tcp://127.0.0.1:1")] {
        let config = DockerConfig {
            engine: EngineName::new("local"),
            host: host.map(str::to_string),
            executors: vec![unique_executor()],
            resync: Duration::from_secs(1),
            liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
            names: Names::default(),
        };
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(docker::run(config, tx));
        let first = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("a first observation");
        assert!(first.is_some());
        drop(rx);
        tokio::time::timeout(WAIT, task)
            .await
            .unwrap_or_else(|_| panic!("the source ({host:?}) kept running with nobody listening"))
            .expect("the source ends without panicking");
    }
}
