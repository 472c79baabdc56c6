//! Commit floors: per input stream, the positions where the records of
//! still-open state begin.
//!
//! A source may commit a stream only below the first record of anything
//! still open on it (a call thread, a logged-in agent's session): a reader
//! starting from the commit replays from there and rebuilds that state. Many
//! holders can begin at one position, so each position keeps a count; the
//! floor is the lowest position held.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

/// Per input stream, the positions held and how many holders began at each.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct StreamFloors(FxHashMap<u32, BTreeMap<u64, u32>>);

impl StreamFloors {
    /// Holds `stream` back to `position` for one more holder.
    pub(crate) fn hold(&mut self, (stream, position): (u32, u64)) {
        *self.0.entry(stream).or_default().entry(position).or_default() += 1;
    }

    /// Lets go of one holder at `position` of `stream` (one that was held).
    pub(crate) fn release(&mut self, (stream, position): (u32, u64)) {
        let Some(starts) = self.0.get_mut(&stream) else { return };
        if let Some(count) = starts.get_mut(&position) {
            *count -= 1;
            if *count == 0 {
                starts.remove(&position);
            }
        }
        if starts.is_empty() {
            self.0.remove(&stream);
        }
    }

    /// Per stream held, its lowest held position.
    pub(crate) fn floors(&self, out: &mut impl Extend<(u32, u64)>) {
        out.extend(self.0.iter().filter_map(|(&stream, starts)| {
            starts.first_key_value().map(|(&position, _)| (stream, position))
        }));
    }

    /// Lets go of everything.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floors_of(floors: &StreamFloors) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        floors.floors(&mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn a_stream_is_held_at_its_lowest_position_until_every_holder_there_lets_go() {
        let mut floors = StreamFloors::default();
        floors.hold((1, 40));
        floors.hold((1, 10));
        floors.hold((1, 10));
        floors.hold((2, 7));
        assert_eq!(floors_of(&floors), [(1, 10), (2, 7)]);
        floors.release((1, 10));
        assert_eq!(floors_of(&floors), [(1, 10), (2, 7)], "one holder still begins at 10");
        floors.release((1, 10));
        assert_eq!(floors_of(&floors), [(1, 40), (2, 7)]);
        floors.release((1, 40));
        floors.release((2, 7));
        assert!(floors_of(&floors).is_empty());
        assert!(floors.0.is_empty(), "a stream with nothing held is forgotten");
    }

    #[test]
    fn letting_go_of_what_is_not_held_changes_nothing() {
        let mut floors = StreamFloors::default();
        floors.hold((3, 5));
        floors.release((3, 6));
        floors.release((4, 5));
        assert_eq!(floors_of(&floors), [(3, 5)]);
    }
}
