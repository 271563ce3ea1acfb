//! evaltop starts after everything happened: no events, no messages, only
//! one container list and one key scan. The flags must still come.

use super::support::*;
use crate::model::EngineName;
use crate::model::health::OrphanKind;
use crate::model::{
    ContainerState as S, Flag, FlagKind as K, HealthContext, Source, State, assess,
};

const EXITED_HELD: &str = "eval_20250706_004515_0000000a";
const OVERRUN: &str = "eval_20250706_005335_0000000b";
const STALE: &str = "eval_20250706_004015_0000000c";
const LEAKED: &str = "eval_20250706_003515_0000000d";
const HEALTHY: &str = "eval_20250706_005505_0000000e";

/// Both sources connect at t(0) and read everything once.
fn start() -> State {
    run(steps![
        t(0) => up(Source::Docker(EngineName::default())),
        t(0) => up(Source::Redis),
        t(0) => list(t(0), vec![
            facts(S::Exited).id(EXITED_HELD).cid("a1").created(Some(&label(-600))),
            facts(S::Running).id(OVERRUN).cid("b2").created(Some(&label(-100))),
            facts(S::Exited).id(LEAKED).cid("d4").created(Some(&label(-1200))),
            facts(S::Running).id(HEALTHY).cid("e5").created(Some(&label(-10))).timeout(600),
        ]),
        t(0) => keys()
            .in_set(EXITED_HELD)
            .running(OVERRUN)
            .in_set(STALE)
            .running(HEALTHY),
    ])
}

fn flag_kinds(state: &State, id: &str, now: crate::model::Ts) -> Vec<K> {
    kinds(&flags(state, id, now))
}

#[test]
fn one_list_and_one_scan_reach_every_flag() {
    let state = start();
    assert!(state.engines_synced() && state.redis.synced());

    // At once: only the overrun, whose deadline passed long ago.
    for id in [EXITED_HELD, STALE, LEAKED, HEALTHY] {
        assert_eq!(flag_kinds(&state, id, t(1)), [], "{id}");
    }
    assert_eq!(
        flags(&state, OVERRUN, t(1)),
        [Flag::Overdue {
            deadline: t(-70),
            over_ms: 71_000,
            timeout_secs: 30
        }]
    );

    // Past grace: what the list and the scan alone prove.
    let now = t(31);
    assert_eq!(flag_kinds(&state, EXITED_HELD, now), [K::LostCompletion]);
    assert_eq!(flag_kinds(&state, OVERRUN, now), [K::Overdue]);
    assert_eq!(flag_kinds(&state, STALE, now), [K::StaleRunning]);
    assert_eq!(flag_kinds(&state, HEALTHY, now), []);
    // Exited long before evaltop looked, and Redis does not hold it: its
    // completion may well have been published then; only the leak is sure.
    assert!(matches!(
        flags(&state, LEAKED, now).as_slice(),
        [Flag::Orphan {
            kind: OrphanKind::ExitedUnaccounted,
            ..
        }]
    ));
}

#[test]
fn an_inspect_dates_the_end_and_the_alarm_comes_at_once() {
    let mut state = start();
    state.apply(
        facts(S::Exited)
            .id(EXITED_HELD)
            .cid("a1")
            .created(Some(&label(-600)))
            .inspected(1, Some(t(-599)))
            .into(),
        t(1),
    );
    let got = flags(&state, EXITED_HELD, t(2));
    assert_eq!(
        got,
        [Flag::LostCompletion {
            ended_at: t(-599),
            ended_ago_ms: 601_000,
            exit_code: Some(1),
            removed: false,
            held_running: true,
        }]
    );
    assert!(
        got[0]
            .reason()
            .contains("exited 1 at 00:45:16.000, 10m01s ago")
    );
}

#[test]
fn health_context_reflects_the_sources() {
    let state = start();
    let ctx = HealthContext::of(&state, t(5));
    assert!(ctx.docker_synced && ctx.redis_synced);
    assert_eq!(ctx.redis_watching_since, Some(t(0)));
    assert_eq!(ctx.grace_ms, 30_000);
    assert_eq!(ctx.silent_after_ms, 90_000);

    // Without Redis, nothing that needs Redis is claimed.
    let docker_only = run(steps![
        t(0) => up(Source::Docker(EngineName::default())),
        t(0) => list(t(0), vec![facts(S::Running).created(Some(&label(-10))).timeout(600)]),
    ]);
    let ctx = HealthContext::of(&docker_only, t(200));
    assert!(!ctx.redis_synced && ctx.redis_watching_since.is_none());
    assert_eq!(assess(record(&docker_only, ID), &ctx), []);
}
