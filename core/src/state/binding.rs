//! Which agent sits at which DN, learned from agent events (login, ready, not
//! ready, logout, …) in record order.
//!
//! The table is small (one entry per logged-in DN) and changes rarely, so every
//! call side keeps its own copy fed with the same agent events: a call leg on
//! a DN is then attributed to an agent where the leg is seen, with no question
//! asked of another thread. A call event's own AgentID names the leg's agent
//! but does not bind the DN (only the agent's own events do).

use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap};

use super::intern::Sym;

/// DN → agent. DNs are keyed by a hash of their text, so binding one costs no
/// interned name (a DN's name is interned when a call reaches it, not before).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Bindings {
    dn_agent: FxHashMap<(Sym, u64), Sym>,
    /// At most this many DNs bound (at least 1).
    max: usize,
    /// Bindings dropped to stay within `max`.
    evicted: u64,
}

impl Default for Bindings {
    fn default() -> Self {
        Bindings::new(super::CallConfig::default().max_bindings)
    }
}

fn dn_key(dn: &[u8]) -> u64 {
    FxBuildHasher.hash_one(dn)
}

impl Bindings {
    /// No binding yet; at most `max` DNs bound. DN names come from the input:
    /// past the cap a sixteenth of the bindings (at least one, in no
    /// particular order: bindings carry no age) is dropped and counted, and
    /// those DNs are bound again by their agents' next events.
    pub fn new(max: usize) -> Bindings {
        Bindings { dn_agent: FxHashMap::default(), max: max.max(1), evicted: 0 }
    }

    /// Bindings dropped to stay within the cap.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The agent bound to `dn`, if any.
    pub fn agent_on(&self, tenant: Sym, dn: &[u8]) -> Option<Sym> {
        self.dn_agent.get(&(tenant, dn_key(dn))).copied()
    }

    /// Binds `dn` to `agent` (an empty DN binds nothing).
    pub fn bind(&mut self, tenant: Sym, agent: Sym, dn: &[u8]) {
        if dn.is_empty() || agent.is_empty() {
            return;
        }
        let key = (tenant, dn_key(dn));
        if self.dn_agent.len() >= self.max && !self.dn_agent.contains_key(&key) {
            let batch = (self.dn_agent.len() / 16).max(1);
            let dropped: Vec<(Sym, u64)> = self.dn_agent.keys().take(batch).copied().collect();
            for key in dropped {
                self.dn_agent.remove(&key);
            }
            self.evicted += batch as u64;
        }
        self.dn_agent.insert(key, agent);
    }

    /// Releases `dn` (the DN a logout is reported on) if `agent` still holds it.
    pub fn unbind(&mut self, tenant: Sym, agent: Sym, dn: &[u8]) {
        let key = (tenant, dn_key(dn));
        if self.dn_agent.get(&key) == Some(&agent) {
            self.dn_agent.remove(&key);
        }
    }

    /// The same bindings with names of another table (`to` gives them).
    pub(crate) fn remapped(&self, mut to: impl FnMut(Sym) -> Sym) -> Bindings {
        let dn_agent = self
            .dn_agent
            .iter()
            .map(|(&(tenant, dn), &agent)| ((to(tenant), dn), to(agent)))
            .collect();
        Bindings { dn_agent, max: self.max, evicted: self.evicted }
    }

    /// Bound DNs.
    pub fn len(&self) -> usize {
        self.dn_agent.len()
    }

    /// Whether no DN is bound.
    pub fn is_empty(&self) -> bool {
        self.dn_agent.is_empty()
    }
}
