//! Health from librdkafka's callbacks: errors degrade it, statistics that show
//! the brokers connected again restore it.
//!
//! librdkafka retries a lost broker by itself and never reports "recovered",
//! so recovery is read from the periodic statistics (`statistics.interval.ms`,
//! one second unless configured otherwise): once a broker is up and none is
//! being (re)connected, the component is up again. The same statistics show a
//! cluster with no broker connected, which the error callback does not always
//! report (librdkafka suppresses repeated connection errors).

use std::sync::Mutex;

use ctistream_core::connect::Health;
use rdkafka::Statistics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Broker states in which a connection is missing or being made again.
const CONNECTING: [&str; 3] = ["DOWN", "TRY_CONNECT", "CONNECT"];

/// A component's health, shared between its librdkafka callbacks and itself.
#[derive(Debug)]
pub(crate) struct SharedHealth {
    state: Mutex<Health>,
}

impl SharedHealth {
    /// Up, until a callback says otherwise.
    pub(crate) fn new() -> SharedHealth {
        SharedHealth { state: Mutex::new(Health::Up) }
    }

    /// The health now.
    pub(crate) fn get(&self) -> Health {
        self.lock().clone()
    }

    /// Something went wrong that librdkafka retries.
    pub(crate) fn degrade(&self, why: String) {
        let mut state = self.lock();
        if !matches!(*state, Health::Down(_)) {
            *state = Health::Degraded(why);
        }
    }

    /// The component cannot work any more.
    pub(crate) fn fail(&self, why: String) {
        *self.lock() = Health::Down(why);
    }

    /// librdkafka's global error callback: fatal errors (an idempotent
    /// producer that lost its sequence, say) are final, the rest pass.
    pub(crate) fn on_error(&self, error: &KafkaError, reason: &str) {
        let why = format!("{error}: {reason}");
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal) {
            self.fail(why);
        } else {
            self.degrade(why);
        }
    }

    /// librdkafka's statistics callback: no broker connected degrades the
    /// health (the error callback does not report every reconnection
    /// attempt); brokers all connected again end a degradation.
    pub(crate) fn on_statistics(&self, statistics: &Statistics) {
        // Bootstrap entries (node id -1) go idle once the cluster is known.
        let brokers = || statistics.brokers.values().filter(|broker| broker.nodeid >= 0);
        let any_up = brokers().any(|broker| broker.state == "UP");
        let reconnecting = brokers().any(|broker| CONNECTING.contains(&broker.state.as_str()));
        let mut state = self.lock();
        if matches!(*state, Health::Down(_)) {
            return;
        }
        if any_up && !reconnecting {
            *state = Health::Up;
        } else if !any_up && brokers().next().is_some() {
            let states: Vec<String> =
                brokers().map(|broker| format!("{} {}", broker.name, broker.state)).collect();
            *state = Health::Degraded(format!("no broker connected ({})", states.join(", ")));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        // A panic elsewhere while holding this lock left a valid `Health`.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
