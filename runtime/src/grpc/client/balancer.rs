//! Load balancing: the [`LoadBalancer`] trait, and grpc's `pick_first` and
//! `round_robin`.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::target::Address;

/// The connectivity state of a channel or of one of its connections
/// (grpc's `doc/connectivity-semantics-and-api.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectivityState {
    /// Not connected, and not trying to (no call has needed it yet, or the
    /// connection ended and nothing has been sent since).
    Idle,
    /// Connecting.
    Connecting,
    /// Connected and able to carry calls.
    Ready,
    /// The last attempt failed; the next waits for the backoff.
    TransientFailure,
    /// Shut down: the channel (or the address) is gone.
    Shutdown,
}

impl ConnectivityState {
    /// The name grpc gives the state (`READY`, `TRANSIENT_FAILURE`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectivityState::Idle => "IDLE",
            ConnectivityState::Connecting => "CONNECTING",
            ConnectivityState::Ready => "READY",
            ConnectivityState::TransientFailure => "TRANSIENT_FAILURE",
            ConnectivityState::Shutdown => "SHUTDOWN",
        }
    }

    /// The state of a channel from those of its connections: ready if any
    /// is, else connecting if any is, else idle if any is, else failing.
    pub(crate) fn aggregate(
        states: impl IntoIterator<Item = ConnectivityState>,
    ) -> ConnectivityState {
        let mut seen = [false; 4];
        for state in states {
            match state {
                ConnectivityState::Ready => return ConnectivityState::Ready,
                ConnectivityState::Connecting => seen[0] = true,
                ConnectivityState::Idle => seen[1] = true,
                ConnectivityState::TransientFailure => seen[2] = true,
                ConnectivityState::Shutdown => seen[3] = true,
            }
        }
        match seen {
            [true, ..] => ConnectivityState::Connecting,
            [_, true, ..] => ConnectivityState::Idle,
            [_, _, true, _] => ConnectivityState::TransientFailure,
            _ => ConnectivityState::Idle,
        }
    }
}

impl std::fmt::Display for ConnectivityState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ready connection a [`LoadBalancer`] may pick for a call.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The address it is connected to.
    pub address: &'a Address,
    /// Calls on it now (started, response not yet finished).
    pub in_flight: usize,
}

/// A load-balancing policy: which ready connection carries each call.
///
/// The channel owns the connections — one per resolved address, each
/// reconnecting with [`Backoff`](super::Backoff) while it fails — and asks
/// the policy to choose among the ready ones. A policy that wants a single
/// connection, trying the addresses in order (as `pick_first` does), says
/// so with [`single_connection`](LoadBalancer::single_connection).
///
/// ```
/// use protocall::client::{Candidate, Endpoint, LoadBalancer};
/// /// Sends each call where the fewest are in flight.
/// struct LeastRequests;
/// impl LoadBalancer for LeastRequests {
///     fn name(&self) -> &str { "least_requests" }
///     fn pick(&self, ready: &[Candidate<'_>]) -> usize {
///         (0..ready.len()).min_by_key(|&i| ready[i].in_flight).unwrap_or(0)
///     }
/// }
/// let channel = Endpoint::new("dns:///backends.internal:50051")?
///     .load_balancer(LeastRequests)
///     .connect_lazy();
/// # let _ = channel;
/// # Ok::<(), protocall::Status>(())
/// ```
pub trait LoadBalancer: Send + Sync + 'static {
    /// The policy's name, as a service config's `loadBalancingConfig`
    /// writes it (`"round_robin"`).
    fn name(&self) -> &str;

    /// `true` for one connection at a time to the first address that
    /// answers (in resolution order); `false` (the default) for a
    /// connection to every address.
    fn single_connection(&self) -> bool {
        false
    }

    /// The index in `ready` (never empty) of the connection for the next
    /// call.
    fn pick(&self, ready: &[Candidate<'_>]) -> usize;
}

/// grpc's default policy: the first address that connects carries every
/// call; the next ones are tried only when it fails.
#[derive(Debug, Default)]
pub struct PickFirst;

impl LoadBalancer for PickFirst {
    fn name(&self) -> &str {
        "pick_first"
    }

    fn single_connection(&self) -> bool {
        true
    }

    fn pick(&self, _: &[Candidate<'_>]) -> usize {
        0
    }
}

/// A connection to every address; calls go to the ready ones in turn.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl LoadBalancer for RoundRobin {
    fn name(&self) -> &str {
        "round_robin"
    }

    fn pick(&self, ready: &[Candidate<'_>]) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % ready.len()
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectivityState::*;
    use super::*;

    #[test]
    fn the_channel_state_follows_its_best_connection() {
        assert_eq!(
            ConnectivityState::aggregate([TransientFailure, Ready, Idle]),
            Ready
        );
        assert_eq!(
            ConnectivityState::aggregate([TransientFailure, Connecting, Idle]),
            Connecting
        );
        assert_eq!(ConnectivityState::aggregate([TransientFailure, Idle]), Idle);
        assert_eq!(
            ConnectivityState::aggregate([TransientFailure, TransientFailure]),
            TransientFailure
        );
        assert_eq!(ConnectivityState::aggregate([]), Idle);
    }

    #[test]
    fn round_robin_takes_turns() {
        let addresses: Vec<Address> = (1..=3)
            .map(|i| Address::Tcp(format!("127.0.0.{i}:1").parse().unwrap()))
            .collect();
        let ready: Vec<Candidate<'_>> = addresses
            .iter()
            .map(|address| Candidate {
                address,
                in_flight: 0,
            })
            .collect();
        let policy = RoundRobin::default();
        let picks: Vec<usize> = (0..6).map(|_| policy.pick(&ready)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        assert_eq!(PickFirst.pick(&ready), 0);
        assert!(PickFirst.single_connection() && !policy.single_connection());
    }
}
