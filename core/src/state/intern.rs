//! Symbols: small integer names for the strings that recur across events
//! (tenants, agents, DNs, queues, reasons), so keyed state holds 4-byte ids and a
//! lookup hashes the bytes once, with no allocation after the first sighting.

use rustc_hash::FxHashMap;

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
    ids: FxHashMap<Box<[u8]>, Sym>,
    names: Vec<Box<str>>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner { ids: FxHashMap::default(), names: Vec::new() };
        interner.intern(b"");
        interner
    }
}

impl Interner {
    /// The symbol of `bytes`, interning it on first sight. Invalid UTF-8 is kept
    /// lossily in the name (outputs are JSON text).
    pub fn intern(&mut self, bytes: &[u8]) -> Sym {
        if let Some(&sym) = self.ids.get(bytes) {
            return sym;
        }
        let sym = Sym(self.names.len() as u32);
        self.names.push(String::from_utf8_lossy(bytes).into());
        self.ids.insert(bytes.into(), sym);
        sym
    }

    /// The symbol of `bytes` if it was interned.
    pub fn get(&self, bytes: &[u8]) -> Option<Sym> {
        self.ids.get(bytes).copied()
    }

    /// The text of a symbol.
    pub fn name(&self, sym: Sym) -> &str {
        self.names.get(sym.0 as usize).map_or("", |name| name)
    }

    /// How many strings are interned.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether only the empty string is interned.
    pub fn is_empty(&self) -> bool {
        self.names.len() <= 1
    }
}
