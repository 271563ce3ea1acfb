//! Whether the event stream keeps up with the lists: a list that shows a
//! change (a container started, ended, gone) which the stream has not
//! reported within a settling time means the stream is silently broken (a
//! half-dead proxy answers pings but delivers nothing). Pure bookkeeping:
//! the session feeds it events and lists and asks it when the settling
//! time is up.

use std::collections::HashMap;

use tokio::time::{Duration, Instant};

use crate::model::{ContainerAction, ContainerState, Ts};

/// How far a container has come: created, live, ended, removed.
fn rank(state: ContainerState) -> u8 {
    match state {
        ContainerState::Created => 0,
        ContainerState::Running | ContainerState::Paused | ContainerState::Restarting => 1,
        ContainerState::Removing | ContainerState::Exited | ContainerState::Dead => 2,
        ContainerState::Removed => 3,
    }
}

fn event_rank(action: ContainerAction) -> Option<u8> {
    match action {
        ContainerAction::Create => Some(0),
        ContainerAction::Start => Some(1),
        ContainerAction::Die => Some(2),
        ContainerAction::Destroy => Some(3),
        ContainerAction::Kill
        | ContainerAction::Oom
        | ContainerAction::Stop
        | ContainerAction::Other => None,
    }
}

/// The event that reports reaching `rank`.
fn event_name(rank: u8) -> &'static str {
    match rank {
        0 => "create",
        1 => "start",
        2 => "die",
        _ => "destroy",
    }
}

#[derive(Clone, Copy, Debug)]
struct Known {
    rank: u8,
    /// When evaltop first knew of the container: a list requested before
    /// then cannot be expected to hold it.
    since: Ts,
}

/// Changes that a list showed and the stream never reported.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Missed {
    pub missed: u32,
    pub example: String,
    /// The list requested then agreed with the stream.
    pub consistent_at: Option<Ts>,
}

#[derive(Debug, Default)]
pub(crate) struct StreamCheck {
    known: HashMap<String, Known>,
    /// Container → the rank a list showed and the stream has not reported.
    pending: HashMap<String, u8>,
    /// By when the stream must have reported what is pending.
    due: Option<Instant>,
    consistent_at: Option<Ts>,
    listed: bool,
}

impl StreamCheck {
    /// An event of the stream, received at `now`.
    pub(crate) fn on_event(&mut self, container_id: &str, action: ContainerAction, now: Ts) {
        let Some(rank) = event_rank(action) else {
            return;
        };
        let known = self
            .known
            .entry(container_id.to_string())
            .or_insert(Known { rank, since: now });
        known.rank = known.rank.max(rank);
        if self
            .pending
            .get(container_id)
            .is_some_and(|want| *want <= rank)
        {
            self.pending.remove(container_id);
        }
        if self.pending.is_empty() {
            self.due = None;
        }
    }

    /// A list requested at `requested_at`; what it shows that the stream
    /// has not reported must be reported by `now + settle`.
    pub(crate) fn on_list<'a>(
        &mut self,
        listed: impl IntoIterator<Item = (&'a str, Option<ContainerState>)>,
        requested_at: Ts,
        now: Instant,
        settle: Duration,
    ) {
        let listed: HashMap<&str, Option<u8>> = listed
            .into_iter()
            .map(|(id, state)| (id, state.map(rank)))
            .collect();
        let first = !self.listed;
        self.listed = true;
        for (id, rank) in &listed {
            let Some(rank) = *rank else { continue };
            match self.known.get_mut(*id) {
                Some(known) => {
                    if rank > known.rank && !first {
                        self.pending.insert(id.to_string(), rank);
                    }
                    known.rank = known.rank.max(rank);
                }
                None => {
                    if !first {
                        self.pending.insert(id.to_string(), rank);
                    }
                    self.known.insert(
                        id.to_string(),
                        Known {
                            rank,
                            since: requested_at,
                        },
                    );
                }
            }
        }
        let mut gone = Vec::new();
        self.known.retain(|id, known| {
            if listed.contains_key(id.as_str()) {
                return true;
            }
            if known.rank < 3 && known.since < requested_at {
                gone.push(id.clone());
            }
            // Removed, and reported so: nothing more to expect of it.
            known.rank < 3
        });
        for id in gone {
            self.pending.insert(id, 3);
        }
        if self.pending.is_empty() {
            self.consistent_at = Some(requested_at);
            self.due = None;
        } else if self.due.is_none() {
            self.due = Some(now + settle);
        }
    }

    /// When the stream must have caught up, if anything is pending.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// At or after the due time: what the stream still has not reported.
    pub(crate) fn missed(&mut self, now: Instant) -> Option<Missed> {
        if self.due.is_none_or(|due| now < due) || self.pending.is_empty() {
            return None;
        }
        self.due = None;
        let mut pending: Vec<(&String, &u8)> = self.pending.iter().collect();
        pending.sort();
        let (id, rank) = pending[0];
        let example = format!(
            "{} listed {}, no {} event",
            id.get(..12).unwrap_or(id),
            match rank {
                0 => "created",
                1 => "running",
                2 => "ended",
                _ => "gone",
            },
            event_name(*rank)
        );
        let missed = u32::try_from(pending.len()).unwrap_or(u32::MAX);
        self.pending.clear();
        Some(Missed {
            missed,
            example,
            consistent_at: self.consistent_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerAction as A;
    use ContainerState as S;

    const SETTLE: Duration = Duration::from_secs(4);

    fn t(secs: i64) -> Ts {
        Ts(1_751_763_315_000 + secs * 1000)
    }

    enum Step {
        List(i64, Vec<(&'static str, S)>),
        Event(i64, &'static str, A),
    }

    /// A case: its name, its steps, and what must be missed (how many, and
    /// words of the example).
    type Case = (&'static str, Vec<Step>, Option<(u32, &'static str)>);

    /// Steps in, what is missed once the settling time has passed.
    fn run(steps: Vec<Step>) -> Option<Missed> {
        let start = Instant::now();
        let mut check = StreamCheck::default();
        for step in steps {
            match step {
                Step::List(at, listed) => check.on_list(
                    listed.iter().map(|(id, state)| (*id, Some(*state))),
                    t(at),
                    start,
                    SETTLE,
                ),
                Step::Event(at, id, action) => check.on_event(id, action, t(at)),
            }
        }
        assert_eq!(
            check.missed(start),
            None,
            "nothing before the settling time"
        );
        check.missed(start + SETTLE)
    }

    #[test]
    fn lists_and_streams_agree_or_not() {
        use Step::*;
        let cases: Vec<Case> = vec![
            (
                "the first list only learns",
                vec![List(0, vec![("a", S::Exited), ("b", S::Running)])],
                None,
            ),
            (
                "every change reported before the next list",
                vec![
                    List(0, vec![("a", S::Running)]),
                    Event(1, "a", A::Die),
                    Event(2, "b", A::Create),
                    Event(2, "b", A::Start),
                    List(3, vec![("a", S::Exited), ("b", S::Running)]),
                ],
                None,
            ),
            (
                "reported just after the list, within the settling time",
                vec![
                    List(0, vec![("a", S::Running)]),
                    List(3, vec![("a", S::Exited)]),
                    Event(3, "a", A::Die),
                ],
                None,
            ),
            (
                "a death the stream never reported",
                vec![
                    List(0, vec![("a", S::Running)]),
                    List(3, vec![("a", S::Exited)]),
                ],
                Some((1, "a listed ended, no die event")),
            ),
            (
                "a container never announced, and one gone without a destroy",
                vec![
                    List(0, vec![("a", S::Exited)]),
                    List(3, vec![("b", S::Running)]),
                ],
                Some((2, "a listed gone, no destroy event")),
            ),
            (
                "created after the list was asked for: not expected in it",
                vec![List(0, vec![]), Event(5, "c", A::Create), List(4, vec![])],
                None,
            ),
            (
                "a later stage reported covers an earlier one",
                vec![
                    List(0, vec![("a", S::Created)]),
                    List(3, vec![("a", S::Running)]),
                    Event(3, "a", A::Die),
                ],
                None,
            ),
            (
                "other actions do not count as reports",
                vec![
                    List(0, vec![("a", S::Running)]),
                    List(3, vec![("a", S::Exited)]),
                    Event(3, "a", A::Kill),
                ],
                Some((1, "no die event")),
            ),
        ];
        for (name, steps, want) in cases {
            let got = run(steps);
            match (want, got) {
                (None, None) => {}
                (Some((missed, example)), Some(got)) => {
                    assert_eq!(got.missed, missed, "{name}");
                    assert!(got.example.contains(example), "{name}: {}", got.example);
                    assert_eq!(got.consistent_at, Some(t(0)), "{name}");
                }
                (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
    }
}
