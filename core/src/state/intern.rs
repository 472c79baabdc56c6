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
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
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
    /// Where each symbol's name starts in the arena; it ends where the next
    /// one starts (names are appended one after another), so 4 bytes a name.
    starts: Vec<u32>,
    index: HashTable<Sym>,
}

impl Default for Interner {
    fn default() -> Self {
        // Symbol 0 is the empty string; it is never looked up in the index
        // (`intern` answers it directly).
        Interner { arena: String::new(), starts: vec![0], index: HashTable::new() }
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
        let sym = Sym(self.starts.len() as u32);
        self.starts.push(self.arena.len() as u32);
        self.arena.push_str(&text);
        let (arena, starts) = (&self.arena, &self.starts);
        self.index.insert_unique(hash(text.as_bytes()), sym, |&sym| {
            hash(span(arena, starts, sym).as_bytes())
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
        // Compared as bytes of the arena: slicing the arena as text would
        // check character boundaries on every probe.
        let arena = self.arena.as_bytes();
        self.index
            .find(hash(bytes), |&sym| {
                bounds(&self.starts, arena.len(), sym).and_then(|at| arena.get(at)) == Some(bytes)
            })
            .copied()
    }

    /// The text of a symbol.
    #[inline]
    pub fn name(&self, sym: Sym) -> &str {
        span(&self.arena, &self.starts, sym)
    }

    /// How many strings are interned.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether only the empty string is interned.
    pub fn is_empty(&self) -> bool {
        self.starts.len() <= 1
    }

    /// The table rebuilt from saved names: `arena` holds every name one
    /// after another and `starts` where each begins. `None` unless the
    /// starts begin at 0 and climb within the arena on character boundaries
    /// (so no symbol can point outside its text).
    fn from_parts(arena: String, starts: Vec<u32>) -> Option<Interner> {
        let in_order = starts.first() == Some(&0)
            && starts.windows(2).all(|pair| pair[0] <= pair[1])
            && starts.iter().all(|&start| arena.is_char_boundary(start as usize));
        if !in_order {
            return None;
        }
        let mut index = HashTable::with_capacity(starts.len());
        for sym in (1..starts.len()).map(|n| Sym(n as u32)) {
            let text = span(&arena, &starts, sym);
            index.insert_unique(hash(text.as_bytes()), sym, |&sym| {
                hash(span(&arena, &starts, sym).as_bytes())
            });
        }
        Some(Interner { arena, starts, index })
    }
}

// Saved as the arena and the starts; the index is rebuilt on load.
impl serde::Serialize for Interner {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.arena, &self.starts).serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Interner {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (arena, starts) = <(String, Vec<u32>)>::deserialize(deserializer)?;
        Interner::from_parts(arena, starts)
            .ok_or_else(|| serde::de::Error::custom("interned names out of order"))
    }
}

/// The text of `sym`: from its start to the next symbol's (or the arena's end).
#[inline]
fn span<'a>(arena: &'a str, starts: &[u32], sym: Sym) -> &'a str {
    bounds(starts, arena.len(), sym).and_then(|at| arena.get(at)).unwrap_or("")
}

/// Where `sym`'s name lies in an arena of `arena_len` bytes.
#[inline]
fn bounds(starts: &[u32], arena_len: usize, sym: Sym) -> Option<std::ops::Range<usize>> {
    let index = sym.0 as usize;
    let start = *starts.get(index)? as usize;
    let end = starts.get(index + 1).map_or(arena_len, |&end| end as usize);
    Some(start..end)
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
