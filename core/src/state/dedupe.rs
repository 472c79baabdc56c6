//! Duplicate suppression by (Server, EventSequenceNumber): T-Servers number
//! their events, and a replayed or re-delivered event carries the same number.
//!
//! Each (input stream, server) pair keeps a window of the last [`WINDOW`]
//! sequence numbers as a bitmap sliding with the highest number seen, so
//! memory is fixed however long the stream. A number older than the window is
//! taken as a duplicate (it cannot be told apart, and late replays are the
//! common case).
//!
//! The window is per input stream (a Kafka partition, a file) because only
//! there do a server's numbers arrive in the server's order. Across streams
//! they do not: the call-thread topic spreads one server's events over its
//! partitions by call key, and a consumer reads one partition far ahead of
//! another. One window per server would then drop the lagging partition's
//! events as "too old" (DOMAIN.md §7.2: order is meaningful only within a DN
//! and a partition key).
//!
//! Windows are capped too ([`CallConfig::max_servers`]): `Server` is a field
//! of the input, and a stream naming millions of servers would otherwise cost
//! 512 bytes each for ever. Past the cap the least recently seen windows are
//! dropped and counted; a dropped (stream, server) starts afresh when seen
//! again.
//!
//! [`CallConfig::max_servers`]: super::CallConfig::max_servers

use rustc_hash::FxHashMap;

/// Sequence numbers remembered per server.
pub const WINDOW: u64 = 4096;
const WORDS: usize = (WINDOW / 64) as usize;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct SeqWindow {
    /// The highest sequence number seen.
    high: u64,
    /// When the server was last seen (the filter's event count).
    seen: u64,
    /// Bit `n % WINDOW` is set when `n` (within the window below `high`) was seen.
    #[serde(with = "window_bits")]
    bits: Box<[u64; WORDS]>,
}

/// A window's bitmap as saved state: a list of words, of exactly [`WORDS`].
mod window_bits {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::WORDS;

    pub(super) fn serialize<S: Serializer>(
        bits: &[u64; WORDS],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(bits.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Box<[u64; WORDS]>, D::Error> {
        let words = Vec::<u64>::deserialize(deserializer)?;
        let len = words.len();
        words.into_boxed_slice().try_into().map_err(|_| {
            D::Error::custom(format_args!("a sequence window of {len} words, not {WORDS}"))
        })
    }
}

impl SeqWindow {
    fn new(first: u64) -> SeqWindow {
        let mut window = SeqWindow { high: first, seen: 0, bits: Box::new([0; WORDS]) };
        window.set(first);
        window
    }

    fn set(&mut self, seq: u64) {
        let slot = (seq % WINDOW) as usize;
        self.bits[slot / 64] |= 1 << (slot % 64);
    }

    fn is_set(&self, seq: u64) -> bool {
        let slot = (seq % WINDOW) as usize;
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }

    fn clear(&mut self, seq: u64) {
        let slot = (seq % WINDOW) as usize;
        self.bits[slot / 64] &= !(1 << (slot % 64));
    }

    /// Takes in what `other` saw of the same (stream, server): the window
    /// then holds every number either saw within [`WINDOW`] of the higher
    /// of their highest numbers.
    fn absorb(&mut self, other: &SeqWindow) {
        let mut other = other.clone();
        let high = self.high.max(other.high);
        self.slide_to(high);
        other.slide_to(high);
        for (mine, theirs) in self.bits.iter_mut().zip(other.bits.iter()) {
            *mine |= theirs;
        }
        self.seen = self.seen.max(other.seen);
    }

    /// Makes `high` (at or above the highest number seen) the highest,
    /// forgetting the numbers that fall out of the window.
    fn slide_to(&mut self, high: u64) {
        if high - self.high >= WINDOW {
            self.bits.fill(0);
        } else {
            for gone in self.high + 1..=high {
                self.clear(gone);
            }
        }
        self.high = high;
    }

    /// Records `seq`; `false` if it was seen (or is too old to tell).
    fn first_sight(&mut self, seq: u64) -> bool {
        if seq > self.high {
            self.slide_to(seq);
            self.set(seq);
            return true;
        }
        if self.high - seq >= WINDOW || self.is_set(seq) {
            return false;
        }
        self.set(seq);
        true
    }
}

/// Windows of seen sequence numbers per (input stream, server).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Dedupe {
    windows: FxHashMap<(u32, u64), SeqWindow>,
    duplicates: u64,
    /// At most this many servers (at least 1).
    max_servers: usize,
    /// Events checked so far: the clock of `SeqWindow::seen`.
    clock: u64,
    evicted: u64,
}

impl Default for Dedupe {
    fn default() -> Self {
        Dedupe::new(super::CallConfig::default().max_servers)
    }
}

impl Dedupe {
    /// Sequence numbers remembered per (input stream, server).
    pub const WINDOW: u64 = WINDOW;

    /// A filter keeping at most `max_servers` (stream, server) windows.
    pub fn new(max_servers: usize) -> Dedupe {
        Dedupe {
            windows: FxHashMap::default(),
            duplicates: 0,
            max_servers: max_servers.max(1),
            clock: 0,
            evicted: 0,
        }
    }

    /// Whether the event `(server, seq)` read from input `stream` is new;
    /// counts it as a duplicate if not.
    pub fn first_sight(&mut self, stream: u32, server: u64, seq: u64) -> bool {
        self.clock += 1;
        let fresh = match self.windows.get_mut(&(stream, server)) {
            Some(window) => {
                window.seen = self.clock;
                window.first_sight(seq)
            }
            None => {
                if self.windows.len() >= self.max_servers {
                    self.evict();
                }
                let mut window = SeqWindow::new(seq);
                window.seen = self.clock;
                self.windows.insert((stream, server), window);
                true
            }
        };
        if !fresh {
            self.duplicates += 1;
        }
        fresh
    }

    /// Takes in the windows of another filter (another shard's, when a
    /// saved state changes its shard count): a number either had seen is
    /// seen. With `counts`, its duplicate and eviction counts are added too.
    pub(crate) fn absorb(&mut self, other: &Dedupe, counts: bool) {
        for (&key, theirs) in &other.windows {
            match self.windows.get_mut(&key) {
                Some(mine) => mine.absorb(theirs),
                None => {
                    self.windows.insert(key, theirs.clone());
                }
            }
        }
        self.clock = self.clock.max(other.clock);
        if counts {
            self.duplicates += other.duplicates;
            self.evicted += other.evicted;
        }
    }

    /// Duplicates dropped so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// (Stream, server) windows kept.
    pub fn servers(&self) -> usize {
        self.windows.len()
    }

    /// Server windows dropped to stay within the cap.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Drops the least recently seen sixteenth of the windows (at least one):
    /// one pass per `max_servers / 16` new servers, amortized O(1) each.
    #[cold]
    fn evict(&mut self) {
        let mut seen: Vec<u64> = self.windows.values().map(|window| window.seen).collect();
        let batch = (seen.len() / 16).max(1).min(seen.len());
        if batch == 0 {
            return;
        }
        let (_, &mut cutoff, _) = seen.select_nth_unstable(batch - 1);
        // Clocks are unique per event, so exactly `batch` windows are at or
        // below the cutoff.
        let before = self.windows.len();
        self.windows.retain(|_, window| window.seen > cutoff);
        self.evicted += (before - self.windows.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_numbers_inside_the_window_are_new_once() {
        let mut dedupe = Dedupe::default();
        for seq in [10, 12, 11, 15, 13, 14] {
            assert!(dedupe.first_sight(0, 1, seq), "{seq}");
        }
        for seq in [10, 15, 12] {
            assert!(!dedupe.first_sight(0, 1, seq), "{seq}");
        }
        assert!(dedupe.first_sight(0, 2, 10), "servers are separate");
        assert!(dedupe.first_sight(0, 1, 10 + 3 * WINDOW), "a jump clears the window");
        assert!(dedupe.first_sight(0, 1, 11 + 3 * WINDOW));
        assert!(!dedupe.first_sight(0, 1, 5), "older than the window");
        assert_eq!(dedupe.duplicates(), 4);
    }

    #[test]
    fn a_stream_far_behind_another_is_not_taken_for_replays() {
        // Two partitions of one server's events, the first read to its end
        // before the second starts: the second's numbers are far below the
        // first's, and new.
        let mut dedupe = Dedupe::default();
        for seq in (0..4 * WINDOW).step_by(2) {
            assert!(dedupe.first_sight(0, 1, seq));
        }
        for seq in (1..4 * WINDOW).step_by(2) {
            assert!(dedupe.first_sight(1, 1, seq), "{seq}");
        }
        assert!(!dedupe.first_sight(1, 1, 4 * WINDOW - 1), "a replay in its own stream");
        assert_eq!(dedupe.duplicates(), 1);
    }
}
