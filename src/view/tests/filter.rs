//! The filter language: every predicate, negation, free text, quoting,
//! alternatives, and the error each bad term gives.

use crate::model::{
    ContainerSide, ContainerState, EvalRecord, Flag, FlagKind, HealthContext, Status, Ts, assess,
};
use crate::view::filter::Filter;

const NOW: Ts = Ts(1_751_763_400_000);
const ID: &str = "eval_20250706_005515_529f833e";

fn ago(secs: i64) -> Ts {
    NOW.plus_millis(-secs * 1000)
}

fn ctx() -> HealthContext {
    HealthContext {
        now: NOW,
        grace_ms: 30_000,
        silent_after_ms: 90_000,
        docker_synced: true,
        unsynced_engines: Vec::new(),
        redis_synced: true,
        redis_watching_since: Some(ago(3600)),
        redis_stretch: None,
        redis_blind: None,
        docker_blind: None,
    }
}

/// Running in Redis; its container on `executor`, created `secs` ago with a
/// `timeout` s limit, in `state`.
fn eval(executor: &str, secs: i64, timeout: u32, state: ContainerState) -> EvalRecord {
    let mut record = EvalRecord::new(ago(secs));
    record.redis.status = Some(Status::Running);
    record.redis.status_seen.push((Status::Running, ago(secs)));
    record.redis.last_log_at = Some(ago(1));
    record.docker = Some(ContainerSide {
        container_id: "c0ffee".into(),
        state: Some(state),
        executor: Some(executor.into()),
        created_at: Some(ago(secs)),
        timeout_secs: Some(timeout),
        started_at: Some(ago(secs)),
        first_seen: ago(secs),
        ..ContainerSide::default()
    });
    record
}

/// Overdue by 7 minutes on executor-2.
fn overdue() -> EvalRecord {
    eval("executor-2", 450, 30, ContainerState::Running)
}

/// Exited 1 a minute ago, no completion: lost-completion on executor-1.
fn lost() -> EvalRecord {
    let mut r = eval("executor-1", 120, 30, ContainerState::Exited);
    let docker = r.docker.as_mut().expect("has docker");
    docker.exit_code = Some(1);
    docker.finished_at = Some(ago(60));
    r.redis.in_running_set = true;
    r
}

/// Completed with output, container removed, on executor-10, 20 s ago.
fn completed() -> EvalRecord {
    let mut r = eval("executor-10", 20, 30, ContainerState::Removed);
    r.redis.status = Some(Status::Completed);
    r.redis.output_len = Some(5);
    r.redis.exit_code = Some(0);
    r
}

/// Queued only: no executor, no container, no exit code.
fn queued() -> EvalRecord {
    let mut r = EvalRecord::new(ago(5));
    r.redis.status = Some(Status::Queued);
    r
}

fn flags(record: &EvalRecord) -> Vec<Flag> {
    assess(record, &ctx())
}

fn passes(query: &str, record: &EvalRecord) -> bool {
    let filter = Filter::parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    filter.matches(ID, record, &flags(record), NOW)
}

fn error(query: &str) -> String {
    match Filter::parse(query) {
        Ok(filter) => panic!("{query} parsed: {filter:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_fixtures_carry_the_flags_the_tests_rely_on() {
    let kinds = |r: &EvalRecord| flags(r).iter().map(Flag::kind).collect::<Vec<_>>();
    assert_eq!(kinds(&overdue()), [FlagKind::Overdue]);
    assert_eq!(kinds(&lost()), [FlagKind::LostCompletion]);
    assert_eq!(kinds(&completed()), []);
    assert_eq!(kinds(&queued()), []);
}

#[test]
fn free_text_matches_id_executor_and_status_ignoring_case() {
    let r = overdue();
    assert!(passes("529F833E", &r), "id, any case");
    assert!(passes("005515", &r), "a piece of the id");
    assert!(passes("Executor-2", &r), "executor");
    assert!(passes("runn", &r), "status");
    assert!(!passes("executor-1", &r));
    assert!(!passes("complet", &r));
    assert!(passes("", &r), "empty matches all");
    assert!(Filter::parse("   ").expect("blank").is_empty());
    // Several terms are ANDed.
    assert!(passes("executor-2 running", &r));
    assert!(!passes("executor-2 completed", &r));
    // Quoted text may hold spaces and colons.
    assert!(!passes("\"a:b c\"", &r));
    assert!(passes("\"EVAL_2025\"", &r));
}

#[test]
fn status_predicate_with_alternatives_and_groups() {
    assert!(passes("status:running", &overdue()));
    assert!(!passes("status:running", &completed()));
    assert!(passes("status:queued,completed", &completed()));
    assert!(passes("status:terminal", &completed()));
    assert!(!passes("status:terminal", &overdue()));
    assert!(passes("status:active", &queued()));
    assert!(
        passes("STATUS:Running", &overdue()),
        "field and value any case"
    );
    let nothing = EvalRecord::new(NOW);
    assert!(passes("status:none", &nothing));
    assert!(!passes("status:none", &queued()));
    assert!(!passes("status:canceled,cancelled", &queued()));
}

#[test]
fn flag_predicate_by_kind_severity_any_and_none() {
    assert!(passes("flag:overdue", &overdue()));
    assert!(!passes("flag:overdue", &lost()));
    assert!(passes("flag:lost-completion", &lost()));
    assert!(passes("flag:overdue,lost-completion", &lost()));
    assert!(passes("flag:alarm", &lost()));
    assert!(!passes("flag:warning", &lost()));
    assert!(passes("flag:any", &lost()));
    assert!(!passes("flag:any", &completed()));
    assert!(passes("flag:none", &completed()));
    assert!(!passes("flag:none", &overdue()));
}

#[test]
fn host_predicate_names_the_containers_engine() {
    let mut on_b = overdue();
    on_b.docker.as_mut().expect("has docker").engine = crate::model::EngineName::new("exec-b");
    assert!(passes("host:exec-b", &on_b));
    assert!(passes("host:EXEC-*", &on_b));
    assert!(!passes("host:exec-a", &on_b));
    assert!(passes("!host:exec-a", &on_b));
    assert!(!passes("host:*", &queued()), "no container, no host");
}

#[test]
fn executor_predicate_is_exact_unless_starred() {
    assert!(passes("executor:executor-2", &overdue()));
    assert!(passes("executor:EXECUTOR-2", &overdue()));
    assert!(
        !passes("executor:executor-1", &completed()),
        "not a substring"
    );
    assert!(passes("executor:executor-1*", &completed()), "prefix");
    assert!(passes("executor:executor-1,executor-2", &overdue()));
    assert!(passes("executor:*", &overdue()));
    assert!(!passes("executor:*", &queued()), "no executor known");
    assert!(passes("!executor:*", &queued()));
}

#[test]
fn over_and_age_compare_durations() {
    // Overdue by 7 min (450 s run, 30 s limit).
    let r = overdue();
    assert!(passes("over:>5m", &r));
    assert!(!passes("over:>7m", &r));
    assert!(passes("over:>=7m", &r));
    assert!(passes("over:<7m1s", &r));
    assert!(passes("over:7m", &r), "bare means at least");
    assert!(passes("over:=420s", &r));
    assert!(
        !passes("over:>1s", &lost()),
        "not overdue: no value, no match"
    );
    assert!(passes("!over:>1s", &lost()));

    assert!(passes("age:<10m", &r));
    assert!(!passes("age:<5m", &r));
    assert!(passes("age:>7m", &r));
    assert!(passes("age:>=450", &r), "bare number is seconds");
    assert!(passes("age:<=7m30s", &r));
    assert!(passes("age:>500ms age:<1h age:<1d", &r));
    assert!(passes("age:<6s", &queued()));
}

#[test]
fn exit_predicate_by_value_list_or_comparison() {
    assert!(passes("exit:1", &lost()));
    assert!(!passes("exit:1", &completed()));
    assert!(passes("exit:0", &completed()));
    assert!(passes("exit:137,1", &lost()));
    assert!(passes("exit:>0", &lost()));
    assert!(!passes("exit:>0", &completed()));
    assert!(passes("exit:<=0", &completed()));
    assert!(!passes("exit:0", &queued()), "no exit code");
    assert!(passes("!exit:0", &queued()));
    assert!(passes("exit:-1,1", &lost()));
}

#[test]
fn bang_negates_any_term() {
    assert!(passes("!status:completed", &overdue()));
    assert!(!passes("!status:completed", &completed()));
    assert!(passes("!flag:timed-out", &overdue()));
    assert!(!passes("!flag:overdue", &overdue()));
    assert!(passes("!executor-1", &overdue()));
    assert!(!passes("!executor-2", &overdue()));
    assert!(passes("!\"executor-1\" status:running", &overdue()));
    assert!(!passes("status:running !flag:any", &overdue()));
}

#[test]
fn bad_terms_say_which_and_why() {
    assert_eq!(
        error("over:>5x"),
        "over:>5x: expected a duration such as 5m"
    );
    assert_eq!(error("age:<"), "age:<: expected a duration such as 5m");
    assert_eq!(
        error("age:5m30"),
        "age:5m30: expected a duration such as 5m"
    );
    assert!(
        error("status:runing")
            .starts_with("status:runing: unknown status \"runing\": one of submitted, queued"),
        "{}",
        error("status:runing")
    );
    assert!(error("flag:late").contains("unknown flag \"late\": one of lost-completion, overdue"));
    assert_eq!(
        error("stauts:running"),
        "stauts:running: unknown field \"stauts\": use status, flag, executor, host, over, age, exit, or quote the text"
    );
    assert_eq!(
        error("exit:one"),
        "exit:one: expected an exit code such as 1, 137,143 or >0"
    );
    assert_eq!(
        error("exit:>"),
        "exit:>: expected an exit code such as 1, 137,143 or >0"
    );
    assert_eq!(
        error("status:"),
        "status:: expected a status such as running"
    );
    assert_eq!(
        error("flag:overdue,"),
        "flag:overdue,: expected a flag such as overdue"
    );
    assert_eq!(
        error("executor:"),
        "executor:: expected an executor such as executor-2"
    );
    assert_eq!(
        error("!"),
        "!: expected a term after !, such as !status:completed"
    );
    assert_eq!(error("a \"b c"), "\"b c: missing closing quote");

    // The span points at the bad term, so the bar can mark it.
    let err = Filter::parse("status:running  over:>5x exit:1").expect_err("bad");
    assert_eq!(err.span, 16..24);
    assert_eq!(err.term, "over:>5x");
}

#[test]
fn the_text_is_kept_as_typed() {
    let filter = Filter::parse("  status:running  !flag:timed-out ").expect("parses");
    assert_eq!(filter.text(), "status:running  !flag:timed-out");
    assert_eq!(filter.to_string(), filter.text());
    assert!(!filter.is_empty());
}
