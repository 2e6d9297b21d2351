//! Signals: `--signal=[{R|B}:]SIG[@TIME]` and the termination sequence slurmd applies on
//! cancellation and time limits (SIGCONT + SIGTERM, KillWait, SIGKILL,
//! UnkillableStepTimeout).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::step::StepId;

/// `--signal` without `@TIME` sends the signal this long before the limit.
pub const DEFAULT_SIGNAL_TIME: Duration = Duration::from_secs(60);

/// A parsed `--signal` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalSpec {
    pub signal: Signal,
    /// Seconds before the time limit (`@TIME`, default 60).
    pub before_limit: Duration,
    /// `B:`: signal only the batch shell.
    pub batch_only: bool,
    /// `R:`: also signal on reservation end (accepted; reservations are not modelled).
    pub reservation: bool,
}

/// Which processes a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalScope {
    /// The step's first process only (the batch shell for a batch step).
    Leader,
    /// Every process of the step.
    Step,
}

impl SignalSpec {
    /// Where this step delivers the warning signal, as Slurm does: with `B:` only the batch
    /// shell gets it (other steps get nothing); without `B:` every job step gets it, but
    /// not the batch step ("not the batch shell itself").
    pub fn scope_for(&self, step: StepId) -> Option<SignalScope> {
        match (step, self.batch_only) {
            (StepId::Batch, true) => Some(SignalScope::Leader),
            (StepId::Batch, false) | (_, true) => None,
            (_, false) => Some(SignalScope::Step),
        }
    }

    /// When to send the signal for a step that started at `start` with time limit `limit`.
    pub fn due(&self, start: Instant, limit: Duration) -> Instant {
        start + limit.saturating_sub(self.before_limit)
    }
}

/// A bad `--signal` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalSpecError {
    #[error("invalid signal flags {0:?} (R or B)")]
    Flags(String),
    #[error("invalid signal {0:?}")]
    Signal(String),
    #[error("invalid signal time {0:?}: must be 0-65535 seconds")]
    Time(String),
}

/// Parses a signal by number (`10`) or name, with or without `SIG`, any case (`USR1`,
/// `sigusr1`).
pub fn parse_signal(s: &str) -> Option<Signal> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i32>().ok().and_then(|n| Signal::try_from(n).ok());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    // nix spells SIGPOLL as SIGIO; accept both.
    let name = if name == "SIGPOLL" { "SIGIO" } else { &name };
    name.parse().ok()
}

/// Parses `--signal=[{R|B}:]SIG[@TIME]`.
pub fn parse_signal_spec(v: &str) -> Result<SignalSpec, SignalSpecError> {
    let (flags, rest) = match v.split_once(':') {
        Some((flags, rest)) => (flags, rest),
        None => ("", v),
    };
    if v.contains(':') && (flags.is_empty() || !flags.chars().all(|c| "RBrb".contains(c))) {
        return Err(SignalSpecError::Flags(flags.to_owned()));
    }
    let (sig, time) = match rest.split_once('@') {
        Some((sig, time)) => (sig, Some(time)),
        None => (rest, None),
    };
    let signal = parse_signal(sig).ok_or_else(|| SignalSpecError::Signal(sig.to_owned()))?;
    let before_limit = match time {
        None => DEFAULT_SIGNAL_TIME,
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t
            .parse::<u16>()
            .map(|s| Duration::from_secs(u64::from(s)))
            .map_err(|_| SignalSpecError::Time(t.to_owned()))?,
        Some(t) => return Err(SignalSpecError::Time(t.to_owned())),
    };
    Ok(SignalSpec {
        signal,
        before_limit,
        batch_only: flags.contains(['B', 'b']),
        reservation: flags.contains(['R', 'r']),
    })
}

/// What the termination sequence asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillAction {
    /// SIGCONT then SIGTERM to every process of the step.
    ContTerm,
    /// SIGKILL to every process of the step.
    Kill,
    /// Still alive `UnkillableStepTimeout` after SIGKILL: give up, report unkillable.
    GiveUp,
}

/// Where the termination sequence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillPhase {
    /// SIGTERM sent; SIGKILL due at the deadline.
    Terminating,
    /// SIGKILL sent; unkillable at the deadline.
    Killing,
    /// Gave up.
    Unkillable,
}

/// Slurm's termination sequence as a pure state machine: the supervisor performs the
/// actions and calls [`KillSequence::on_deadline`] when [`KillSequence::deadline`] passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillSequence {
    phase: KillPhase,
    deadline: Instant,
    unkillable_timeout: Duration,
}

impl KillSequence {
    /// Starts the sequence at `now`; the caller performs the returned action.
    pub fn start(
        now: Instant,
        kill_wait: Duration,
        unkillable_timeout: Duration,
    ) -> (Self, KillAction) {
        let seq = Self {
            phase: KillPhase::Terminating,
            deadline: now + kill_wait,
            unkillable_timeout,
        };
        (seq, KillAction::ContTerm)
    }

    /// Starts directly at SIGKILL (what happens to leftover processes once the step's
    /// leader has exited).
    pub fn start_at_kill(now: Instant, unkillable_timeout: Duration) -> (Self, KillAction) {
        let seq = Self {
            phase: KillPhase::Killing,
            deadline: now + unkillable_timeout,
            unkillable_timeout,
        };
        (seq, KillAction::Kill)
    }

    pub fn phase(&self) -> KillPhase {
        self.phase
    }

    /// When the next action is due; `None` once given up.
    pub fn deadline(&self) -> Option<Instant> {
        (self.phase != KillPhase::Unkillable).then_some(self.deadline)
    }

    /// Advances the sequence if its deadline has passed at `now`.
    pub fn on_deadline(&mut self, now: Instant) -> Option<KillAction> {
        if now < self.deadline {
            return None;
        }
        match self.phase {
            KillPhase::Terminating => {
                self.phase = KillPhase::Killing;
                self.deadline = now + self.unkillable_timeout;
                Some(KillAction::Kill)
            }
            KillPhase::Killing => {
                self.phase = KillPhase::Unkillable;
                Some(KillAction::GiveUp)
            }
            KillPhase::Unkillable => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signal_specs() {
        let s = parse_signal_spec("B:USR1@60").unwrap();
        assert_eq!(s.signal, Signal::SIGUSR1);
        assert_eq!(s.before_limit, Duration::from_secs(60));
        assert!(s.batch_only && !s.reservation);

        let s = parse_signal_spec("SIGTERM").unwrap();
        assert_eq!(s.signal, Signal::SIGTERM);
        assert_eq!(s.before_limit, DEFAULT_SIGNAL_TIME);
        assert!(!s.batch_only);

        let s = parse_signal_spec("RB:10@5").unwrap();
        assert_eq!(s.signal, Signal::SIGUSR1);
        assert_eq!(s.before_limit, Duration::from_secs(5));
        assert!(s.batch_only && s.reservation);

        assert_eq!(
            parse_signal_spec("usr2@0").unwrap().before_limit,
            Duration::ZERO
        );
        assert_eq!(parse_signal_spec("POLL").unwrap().signal, Signal::SIGIO);
    }

    #[test]
    fn rejects_bad_signal_specs() {
        assert!(matches!(
            parse_signal_spec("X:USR1"),
            Err(SignalSpecError::Flags(_))
        ));
        assert!(matches!(
            parse_signal_spec(":USR1"),
            Err(SignalSpecError::Flags(_))
        ));
        assert!(matches!(
            parse_signal_spec("NOPE"),
            Err(SignalSpecError::Signal(_))
        ));
        assert!(matches!(
            parse_signal_spec("0"),
            Err(SignalSpecError::Signal(_))
        ));
        assert!(matches!(
            parse_signal_spec("99"),
            Err(SignalSpecError::Signal(_))
        ));
        assert!(matches!(
            parse_signal_spec(""),
            Err(SignalSpecError::Signal(_))
        ));
        assert!(matches!(
            parse_signal_spec("USR1@"),
            Err(SignalSpecError::Time(_))
        ));
        assert!(matches!(
            parse_signal_spec("USR1@-1"),
            Err(SignalSpecError::Time(_))
        ));
        assert!(matches!(
            parse_signal_spec("USR1@70000"),
            Err(SignalSpecError::Time(_))
        ));
    }

    #[test]
    fn scope_follows_slurm() {
        let b = parse_signal_spec("B:USR1").unwrap();
        let all = parse_signal_spec("USR1").unwrap();
        assert_eq!(b.scope_for(StepId::Batch), Some(SignalScope::Leader));
        assert_eq!(b.scope_for(StepId::Numbered(0)), None);
        assert_eq!(all.scope_for(StepId::Batch), None);
        assert_eq!(all.scope_for(StepId::Numbered(0)), Some(SignalScope::Step));
        let t0 = Instant::now();
        assert_eq!(
            all.due(t0, Duration::from_secs(100)),
            t0 + Duration::from_secs(40)
        );
        assert_eq!(
            all.due(t0, Duration::from_secs(10)),
            t0,
            "saturates at start"
        );
    }

    #[test]
    fn kill_sequence_escalates() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let (mut k, first) = KillSequence::start(t0, s(30), s(60));
        assert_eq!(first, KillAction::ContTerm);
        assert_eq!(k.deadline(), Some(t0 + s(30)));
        assert_eq!(k.on_deadline(t0 + s(29)), None);
        assert_eq!(k.on_deadline(t0 + s(30)), Some(KillAction::Kill));
        assert_eq!(k.phase(), KillPhase::Killing);
        assert_eq!(k.deadline(), Some(t0 + s(90)));
        assert_eq!(k.on_deadline(t0 + s(89)), None);
        assert_eq!(k.on_deadline(t0 + s(90)), Some(KillAction::GiveUp));
        assert_eq!(k.phase(), KillPhase::Unkillable);
        assert_eq!(k.deadline(), None);
        assert_eq!(k.on_deadline(t0 + s(1000)), None);

        let (mut k, first) = KillSequence::start_at_kill(t0, s(5));
        assert_eq!(first, KillAction::Kill);
        assert_eq!(k.on_deadline(t0 + s(5)), Some(KillAction::GiveUp));
    }
}
