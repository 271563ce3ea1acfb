//! Recordings: the merged stream of observations as a file (JSON lines),
//! written live (`evaltop events`, `--record`) and read back to replay the
//! TUI, judge a past moment (`check --from`) or show the demo. The format
//! is described in docs/recording-format.md.

mod format;
mod reader;
mod replay;
#[cfg(test)]
mod tests;
mod writer;

pub use format::{
    FORMAT_NAME, FORMAT_VERSION, Header, Line, RecordedEngine, RecordedSettings, RecordedSources,
};
pub use reader::{LineProblem, RecordError, Recording, parse, read};
pub use replay::{Player, Replay, ReplayCommand, Seek, Speed, first_alarm, parse_at, state_at};
pub use writer::{CLOCK_TICK, RecordHandle, RecordStatus, Recorder, tee, write_events};

/// The recording shipped for `evaltop demo` (made by examples/make_demo/).
pub const DEMO: &[u8] = include_bytes!("../../assets/demo.jsonl");

/// The demo recording, read.
pub fn demo() -> Result<Recording, RecordError> {
    parse(DEMO)
}
