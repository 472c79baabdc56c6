//! Symbols: small integer names for the strings that recur across events
//! (tenants, agents, DNs, queues, reasons), so keyed state holds 4-byte ids and a
//! lookup hashes the bytes once, with no allocation after the first sighting.
//!
//! Names live in one growing arena; the index is a table of symbols hashed by
//! their text, so a name costs its bytes plus about 13 bytes of bookkeeping
//! (this matters: every agent has two names, and agents are counted in
//! hundreds of thousands).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// An interned string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl Sym {
    /// The empty string, interned first; also "none".
    pub const EMPTY: Sym = Sym(0);

    /// Whether this is the empty string.
    pub fn is_empty(self) -> bool {
        self == Sym::EMPTY
    }

    /// `None` for the empty string.
    pub fn non_empty(self) -> Option<Sym> {
        (!self.is_empty()).then_some(self)
    }
}

/// The table of interned strings.
#[derive(Debug)]
pub struct Interner {
    /// Every name's text, one after another (names are kept as UTF-8: invalid
    /// bytes are replaced when interned, since outputs are JSON text).
    arena: String,
    /// Where each symbol's name starts and ends in the arena.
    spans: Vec<(u32, u32)>,
    index: HashTable<Sym>,
}

impl Default for Interner {
    fn default() -> Self {
        // Symbol 0 is the empty string; it is never looked up in the index
        // (`intern` answers it directly).
        Interner { arena: String::new(), spans: vec![(0, 0)], index: HashTable::new() }
    }
}

fn hash(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

impl Interner {
    /// The symbol of `bytes`, interning it on first sight.
    #[inline]
    pub fn intern(&mut self, bytes: &[u8]) -> Sym {
        if bytes.is_empty() {
            return Sym::EMPTY;
        }
        // Fast path: a name seen before is stored as exactly these bytes (when
        // they are UTF-8, the usual case), so no validation is needed to find it.
        if let Some(sym) = self.find_bytes(bytes) {
            return sym;
        }
        self.intern_slow(bytes)
    }

    #[cold]
    fn intern_slow(&mut self, bytes: &[u8]) -> Sym {
        // The index is keyed by the text as stored, so a name with invalid
        // bytes is found again through its lossy text.
        let text = String::from_utf8_lossy(bytes);
        if let Some(sym) = self.find(&text) {
            return sym;
        }
        let start = self.arena.len() as u32;
        self.arena.push_str(&text);
        let sym = Sym(self.spans.len() as u32);
        self.spans.push((start, self.arena.len() as u32));
        let (arena, spans) = (&self.arena, &self.spans);
        self.index.insert_unique(hash(text.as_bytes()), sym, |&sym| {
            let (start, end) = spans[sym.0 as usize];
            hash(&arena.as_bytes()[start as usize..end as usize])
        });
        sym
    }

    /// The symbol of `bytes` if it was interned.
    pub fn get(&self, bytes: &[u8]) -> Option<Sym> {
        if bytes.is_empty() {
            return Some(Sym::EMPTY);
        }
        self.find_bytes(bytes).or_else(|| self.find(&String::from_utf8_lossy(bytes)))
    }

    fn find(&self, text: &str) -> Option<Sym> {
        self.find_bytes(text.as_bytes())
    }

    #[inline]
    fn find_bytes(&self, bytes: &[u8]) -> Option<Sym> {
        self.index.find(hash(bytes), |&sym| self.name(sym).as_bytes() == bytes).copied()
    }

    /// The text of a symbol.
    pub fn name(&self, sym: Sym) -> &str {
        match self.spans.get(sym.0 as usize) {
            Some(&(start, end)) => &self.arena[start as usize..end as usize],
            None => "",
        }
    }

    /// How many strings are interned.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether only the empty string is interned.
    pub fn is_empty(&self) -> bool {
        self.spans.len() <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_repeat_as_the_same_symbol() {
        let mut names = Interner::default();
        let a = names.intern(b"agent-1");
        let b = names.intern(b"5001");
        assert_eq!(names.intern(b"agent-1"), a);
        assert_eq!((names.name(a), names.name(b)), ("agent-1", "5001"));
        assert_eq!(names.get(b"nope"), None);
        assert_eq!(names.intern(b""), Sym::EMPTY);
        let lossy = names.intern(b"x\xffy");
        assert_eq!(names.name(lossy), "x\u{fffd}y");
        assert_eq!(names.intern(b"x\xffy"), lossy, "found again despite the invalid byte");
    }
}
