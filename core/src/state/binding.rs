//! Which agent sits at which DN, learned from agent events (login, ready, not
//! ready, logout, …) in record order.
//!
//! The table is small (one entry per logged-in DN) and changes rarely, so every
//! call side keeps its own copy fed with the same agent events: a call leg on
//! a DN is then attributed to an agent where the leg is seen, with no question
//! asked of another thread. A call event's own AgentID names the leg's agent
//! but does not bind the DN (only the agent's own events do).

use rustc_hash::FxHashMap;

use super::intern::Sym;

/// DN → agent, and agent → DN to undo it at logout.
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    dn_agent: FxHashMap<(Sym, Sym), Sym>,
    agent_dn: FxHashMap<(Sym, Sym), Sym>,
}

impl Bindings {
    /// The agent bound to `dn`, if any.
    pub fn agent_on(&self, tenant: Sym, dn: Sym) -> Option<Sym> {
        self.dn_agent.get(&(tenant, dn)).copied()
    }

    /// Binds `dn` to `agent` (an empty DN binds nothing).
    pub fn bind(&mut self, tenant: Sym, agent: Sym, dn: Sym) {
        if dn.is_empty() || agent.is_empty() {
            return;
        }
        self.dn_agent.insert((tenant, dn), agent);
        self.agent_dn.insert((tenant, agent), dn);
    }

    /// Releases the DN `agent` is bound to, if it still is.
    pub fn unbind(&mut self, tenant: Sym, agent: Sym) {
        if let Some(dn) = self.agent_dn.remove(&(tenant, agent)) {
            if self.dn_agent.get(&(tenant, dn)) == Some(&agent) {
                self.dn_agent.remove(&(tenant, dn));
            }
        }
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
