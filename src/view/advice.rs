//! What each flag means and what to do about it, in the words the detail
//! view shows under the flag: consistent across flags, and never naming an
//! action that has nothing left to act on.

use crate::model::Flag;
use crate::model::health::OrphanKind;

/// What a flag means and what to do about it; `{kill}` and the like name
/// a command, for the keymap in force to fill in its key.
pub fn advice(flag: &Flag) -> &'static str {
    match flag {
        Flag::LostCompletion { removed: false, .. } => {
            "The container ended but the executor never published its completion, so the \
             evaluation stays running forever. Force it failed ({force_failed}) with the logs captured at \
             death, then remove the container ({remove})."
        }
        Flag::LostCompletion { removed: true, .. } => {
            "The container ended but the executor never published its completion, so the \
             evaluation stays running forever. Force it failed ({force_failed}) with the logs captured at \
             death; the container is already removed."
        }
        Flag::NeverStarted { .. } => {
            "The executor created this container but never started it: it may have crashed or \
             lost the evaluation between create and start. Force it failed ({force_failed}) if Redis \
             holds it, then remove the container ({remove})."
        }
        Flag::Killed { .. } => {
            "evaltop's operator killed it ({kill}): not a timeout. The executor should now publish \
             its failure; if none comes within the grace it shows as lost-completion: force it \
             failed ({force_failed})."
        }
        Flag::Overdue { .. } => {
            "The executor should have stopped this container at its deadline; it may have \
             crashed or restarted. Kill the container ({kill}); if no failure is published then, \
             force it failed ({force_failed})."
        }
        Flag::EmptyFailure {
            evidence: Some(_), ..
        } => {
            "The completion carried neither output nor error, yet the evaluation printed: its \
             logs were lost, most likely because the container was removed before they were \
             read. Open the logs ({logs}) to recover them from Docker or Redis while they last."
        }
        Flag::EmptyFailure { evidence: None, .. } => {
            "Nothing shows that it printed anything (sys.exit(3) does this): most likely a \
             genuine silent failure. Nothing to do."
        }
        Flag::Orphan { kind, .. } => match kind {
            OrphanKind::RunningAfterTerminal => {
                "The evaluation is over but its container still runs and holds resources. Kill \
                 it ({kill}), then remove it ({remove})."
            }
            OrphanKind::NotRemoved => {
                "The executor removes each container after publishing the completion; this one \
                 was left behind. Save its logs ({logs}) if needed, then remove it ({remove})."
            }
            OrphanKind::UnknownToRedis => {
                "A container runs that Redis has no trace of: a lost submission, or another \
                 deployment on this engine. Check its labels; kill it ({kill}) if it should not run."
            }
            OrphanKind::ExitedUnaccounted => {
                "Whether its completion was published while evaltop was not watching Redis is \
                 unknown. If the durable record does not show it finished, force it failed ({force_failed}); \
                 then remove the container ({remove})."
            }
        },
        Flag::StaleRunning => {
            "Leftover state: the running key expired and the container is gone, but the id was \
             never taken out of running_evaluations. Force it failed ({force_failed}) so that the storage \
             worker clears it."
        }
        Flag::Silent { .. } => {
            "A healthy executor sends a heartbeat every 30 s; none came. The executor may be \
             stuck or gone: check it, and the logs ({logs})."
        }
        Flag::Unknown { .. } => {
            "What would prove this fell while a source was blind (disconnected, not answering, \
             or not read again yet). evaltop decides as soon as the source is back and read \
             in full; act on it only if the source stays away."
        }
        Flag::HostUnknown { .. } => {
            "The Docker engine that holds this container is down or has not listed its \
             containers since it came back: nothing is judged from a container evaltop cannot \
             see. It is judged again as soon as the engine lists."
        }
        Flag::TimedOut { .. } => {
            "It ran to its time limit and was stopped, as code that does not finish is. Nothing \
             to do."
        }
    }
}
