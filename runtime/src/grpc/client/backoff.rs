//! Connection backoff as grpc's `doc/connection-backoff.md` defines it.

use std::time::Duration;

use crate::grpc::timeout;

/// How a channel spaces its attempts to connect to an address that keeps
/// failing: the first retry after `initial`, each later one `multiplier`
/// times the last up to `max`, every delay moved by up to ±`jitter` of
/// itself; each attempt may take at least `min_connect_timeout`.
///
/// The defaults are connection-backoff.md's: 1 s, ×1.6, 120 s, jitter 0.2,
/// 20 s.
///
/// ```
/// use std::time::Duration;
/// use protocall::client::{Backoff, Endpoint};
/// let fast = Backoff::default().initial(Duration::from_millis(100)).max(Duration::from_secs(5));
/// let endpoint = Endpoint::new("dns:///backend.internal:50051")?.backoff(fast);
/// # let _ = endpoint;
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    pub(crate) initial: Duration,
    pub(crate) multiplier: f64,
    pub(crate) jitter: f64,
    pub(crate) max: Duration,
    pub(crate) min_connect_timeout: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_secs(1),
            multiplier: 1.6,
            jitter: 0.2,
            max: Duration::from_secs(120),
            min_connect_timeout: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The delay before the first retry (`INITIAL_BACKOFF`, 1 s).
    pub fn initial(mut self, delay: Duration) -> Backoff {
        self.initial = delay;
        self
    }

    /// The factor each delay grows by (`MULTIPLIER`, 1.6; at least 1).
    pub fn multiplier(mut self, factor: f64) -> Backoff {
        self.multiplier = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// How far each delay is moved at random, as a fraction of itself
    /// (`JITTER`, 0.2; between 0 and 1).
    pub fn jitter(mut self, fraction: f64) -> Backoff {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// The longest delay (`MAX_BACKOFF`, 120 s).
    pub fn max(mut self, delay: Duration) -> Backoff {
        self.max = delay;
        self
    }

    /// The least time one attempt may take (`MIN_CONNECT_TIMEOUT`, 20 s).
    pub fn min_connect_timeout(mut self, timeout: Duration) -> Backoff {
        self.min_connect_timeout = timeout;
        self
    }
}

/// The schedule of one run of attempts, from connection-backoff.md's
/// `ConnectWithBackoff`:
///
/// ```text
/// current_backoff = INITIAL_BACKOFF
/// current_deadline = now() + INITIAL_BACKOFF
/// while TryConnect(Max(current_deadline, now() + MIN_CONNECT_TIMEOUT)) fails:
///     SleepUntil(current_deadline)
///     current_backoff = Min(current_backoff * MULTIPLIER, MAX_BACKOFF)
///     current_deadline = now() + current_backoff ± JITTER * current_backoff
/// ```
#[derive(Debug)]
pub(crate) struct Schedule {
    config: Backoff,
    /// `current_backoff`, without jitter (the jitter does not compound).
    current: Duration,
    /// `current_deadline`: when the next attempt may start.
    deadline: tokio::time::Instant,
}

impl Schedule {
    pub(crate) fn start(config: Backoff) -> Schedule {
        Schedule {
            config,
            current: config.initial,
            deadline: timeout::after(config.initial),
        }
    }

    /// The deadline of the attempt starting now.
    pub(crate) fn attempt_deadline(&self) -> tokio::time::Instant {
        self.deadline
            .max(timeout::after(self.config.min_connect_timeout))
    }

    /// When the attempt after a failed one may start; moves the schedule on.
    pub(crate) fn next_attempt(&mut self) -> tokio::time::Instant {
        let start = self.deadline;
        let grown = self.current.as_secs_f64() * self.config.multiplier;
        self.current = timeout::from_secs_f64(grown).min(self.config.max);
        self.deadline = timeout::later(start.max(tokio::time::Instant::now()), self.jittered());
        start
    }

    /// `current_backoff` moved uniformly within ±`jitter` of itself.
    fn jittered(&self) -> Duration {
        let spread = self.config.jitter * (2.0 * fastrand::f64() - 1.0);
        timeout::from_secs_f64(self.current.as_secs_f64() * (1.0 + spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delays_grow_by_the_multiplier_within_the_jitter_up_to_the_max() {
        let config = Backoff::default();
        let mut schedule = Schedule::start(config);
        let t0 = tokio::time::Instant::now();
        // The first attempt's deadline is MIN_CONNECT_TIMEOUT away, the
        // first retry INITIAL_BACKOFF after the start, without jitter.
        assert_eq!(schedule.attempt_deadline() - t0, Duration::from_secs(20));
        let mut expected = 1.0f64;
        let mut previous = t0;
        for i in 0..20 {
            let at = schedule.next_attempt();
            let gap = (at - previous).as_secs_f64();
            if i == 0 {
                assert_eq!(gap, 1.0);
            } else {
                assert!(
                    gap >= expected * 0.8 - 1e-6 && gap <= expected * 1.2 + 1e-6,
                    "retry {i}: gap {gap} for backoff {expected}"
                );
            }
            expected = (expected * 1.6).min(120.0);
            // The attempt starts on time and fails at once.
            tokio::time::sleep_until(at).await;
            previous = at;
        }
        assert_eq!(schedule.current, Duration::from_secs(120));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_gets_the_later_of_the_backoff_and_the_min_connect_timeout() {
        let config = Backoff::default()
            .initial(Duration::from_secs(30))
            .min_connect_timeout(Duration::from_secs(5));
        let t0 = tokio::time::Instant::now();
        let schedule = Schedule::start(config);
        assert_eq!(schedule.attempt_deadline() - t0, Duration::from_secs(30));
    }

    #[test]
    fn jitter_spreads_delays_over_the_whole_band() {
        let config = Backoff::default().initial(Duration::from_secs(10));
        let schedule = Schedule::start(config);
        let samples: Vec<f64> = (0..2000)
            .map(|_| schedule.jittered().as_secs_f64())
            .collect();
        let low = samples.iter().cloned().fold(f64::MAX, f64::min);
        let high = samples.iter().cloned().fold(f64::MIN, f64::max);
        assert!((8.0..8.2).contains(&low), "lowest {low}");
        assert!((11.8..=12.0).contains(&high), "highest {high}");
    }

    #[test]
    fn settings_are_kept_in_range() {
        let b = Backoff::default().multiplier(0.5).jitter(3.0);
        assert_eq!((b.multiplier, b.jitter), (1.0, 1.0));
        let b = Backoff::default().multiplier(f64::NAN).jitter(-1.0);
        assert_eq!((b.multiplier, b.jitter), (1.0, 0.0));
    }
}
