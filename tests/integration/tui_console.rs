//! The console's own behaviour, in the real binary in tmux: where Esc goes
//! back to, help that scrolls like every view, a footer that offers only
//! the keys that work, and a bulk action summed up in one line.

use std::time::{Duration, Instant};

use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, random_hex, unique_eval_id, unique_executor,
};
use crate::support::tmux::Tmux;

fn scratch_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("evaltop-{name}-{}", random_hex()))
}

fn quit(tmux: &Tmux) {
    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tmux.alive(), "q quits");
}

#[test]
fn the_demo_goes_back_where_it_came_from_and_offers_only_working_keys() {
    let log_file = scratch_file("console-demo.log");
    let command = format!(
        "{} --log-file {} demo",
        env!("CARGO_BIN_EXE_evaltop"),
        log_file.display()
    );
    let tmux = Tmux::start(250, 40, &command);
    // Replay: space pauses, so the footer offers no marking, and no action.
    let screen = tmux.wait_for(&["REPLAY", "space pause", "q quit"]);
    assert!(!screen.contains("space mark"), "{screen}");
    assert!(
        !screen.contains("K kill") && !screen.contains("F fail"),
        "{screen}"
    );

    // Logs opened from the detail go back to the detail, then the table.
    tmux.keys(&["Space", "Enter"]);
    tmux.wait_for(&["Phases", "Timeline"]);
    tmux.keys(&["l"]);
    tmux.wait_for(&["follow"]);
    tmux.keys(&["Escape"]);
    tmux.wait_for(&["Phases", "Timeline"]);
    tmux.keys(&["Escape"]);
    tmux.wait_for(&["space pause"]);

    // Help scrolls to its end and back like every other view.
    tmux.keys(&["?"]);
    let top = tmux.wait_for(&["keys", "everywhere"]);
    assert!(!top.contains("typing"), "the end is not shown yet:\n{top}");
    tmux.keys(&["G"]);
    let bottom = tmux.wait_for(&["typing", "cancel a dialog"]);
    assert!(
        !bottom.contains("this help"),
        "scrolled away from the top:\n{bottom}"
    );
    tmux.keys(&["g"]);
    tmux.wait_for(&["this help"]);
    tmux.keys(&["Escape"]);
    quit(&tmux);
    // Best effort: the file is the test's own.
    let _ = std::fs::remove_file(&log_file);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_remove_is_summed_up_and_leaves_no_mark_on_what_succeeded() {
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let mut containers = Vec::new();
    for _ in 0..3 {
        let spec = ContainerSpec::new(&unique_eval_id(), &executor, "exit 1");
        let container = TestContainer::start(&docker, &image, &spec).await;
        container.wait_exit(&docker).await;
        containers.push(container);
    }
    // No Redis here: the console is about Docker's side and the bulk
    // summary; Redis is reported unreachable, which is beside the point.
    let log_file = scratch_file("console-bulk.log");
    let audit_file = scratch_file("console-bulk-audit.jsonl");
    let command = format!(
        "{} --redis redis://127.0.0.1:1 --executor {executor} --log-file {} --audit-file {} --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        log_file.display(),
        audit_file.display(),
    );
    let tmux = Tmux::start(160, 30, &command);
    tmux.wait_for(&["docker ● connected", "3 evaluations"]);
    tmux.keys(&["A"]);
    tmux.wait_for(&["3 marked"]);
    tmux.keys(&["D"]);
    tmux.wait_for(&[
        "Force-remove the container of 3 evaluation(s)",
        "y: confirm",
    ]);
    tmux.keys(&["y"]);
    let screen = tmux.wait_for(&["remove: 3 ok"]);
    assert!(
        !screen.contains("● eval_"),
        "no row is left marked:\n{screen}"
    );
    // The summary is information: it leaves the status line by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tmux.screen().contains("remove: 3 ok") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !tmux.screen().contains("remove: 3 ok"),
        "an informational message expires"
    );
    quit(&tmux);
    let audit = std::fs::read_to_string(&audit_file).unwrap_or_default();
    assert_eq!(
        audit.matches("\"phase\":\"outcome\"").count(),
        3,
        "each removal audited: {audit}"
    );
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log_file);
    let _ = std::fs::remove_file(&audit_file);
}
