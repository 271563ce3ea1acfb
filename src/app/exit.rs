//! Exit codes and how a failure is reported. `check` speaks with 0, 1 and
//! 2; the errors use the BSD sysexits codes, so that a cron job or an alert
//! can tell "something is flagged" from "evaltop was called wrongly".

use std::process::ExitCode;

/// Success; for `check`, nothing flagged.
pub const OK: u8 = 0;
/// `check`: something is flagged (informational flags aside).
pub const FLAGGED: u8 = 1;
/// `check`: a source could not be reached.
pub const UNREACHABLE: u8 = 2;
/// A bad command line (EX_USAGE).
pub const USAGE: u8 = 64;
/// A file that is not a readable recording (EX_DATAERR).
pub const DATA: u8 = 65;
/// A file that cannot be opened (EX_NOINPUT).
pub const NO_INPUT: u8 = 66;
/// An internal error (EX_SOFTWARE).
pub const SOFTWARE: u8 = 70;
/// A file that cannot be written: the log, a recording, stdout (EX_CANTCREAT).
pub const CANT_CREATE: u8 = 73;
/// A bad config file (EX_CONFIG).
pub const CONFIG: u8 = 78;

/// Why evaltop stops without doing its job.
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Config(String),
    NoInput(String),
    Data(String),
    CantCreate(String),
    /// A bug or an environment evaltop cannot work in: the full report.
    Internal(color_eyre::eyre::Report),
}

impl Failure {
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::Config(_) => CONFIG,
            Failure::NoInput(_) => NO_INPUT,
            Failure::Data(_) => DATA,
            Failure::CantCreate(_) => CANT_CREATE,
            Failure::Internal(_) => SOFTWARE,
        }
    }

    /// Prints it (one plain line for a user's error) and gives the code.
    pub fn report(self) -> ExitCode {
        let code = self.code();
        match self {
            Failure::Usage(message)
            | Failure::Config(message)
            | Failure::NoInput(message)
            | Failure::Data(message)
            | Failure::CantCreate(message) => eprintln!("evaltop: {message}"),
            Failure::Internal(report) => eprintln!("Error: {report:?}"),
        }
        ExitCode::from(code)
    }
}
