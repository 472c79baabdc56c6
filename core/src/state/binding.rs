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
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Bindings {
    dn_agent: FxHashMap<(Sym, u64), Sym>,
}

fn dn_key(dn: &[u8]) -> u64 {
    FxBuildHasher.hash_one(dn)
}

impl Bindings {
    /// The agent bound to `dn`, if any.
    pub fn agent_on(&self, tenant: Sym, dn: &[u8]) -> Option<Sym> {
        self.dn_agent.get(&(tenant, dn_key(dn))).copied()
    }

    /// Binds `dn` to `agent` (an empty DN binds nothing).
    pub fn bind(&mut self, tenant: Sym, agent: Sym, dn: &[u8]) {
        if dn.is_empty() || agent.is_empty() {
            return;
        }
        self.dn_agent.insert((tenant, dn_key(dn)), agent);
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
        Bindings { dn_agent }
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
