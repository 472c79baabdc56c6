//! What the call side tells the agent side.
//!
//! The call side (call threads and orchestration interactions, keyed by call,
//! with its own copy of the DN bindings) and the agent side (agent states,
//! keyed by agent) meet only through these messages. In the single-threaded
//! [`Reducer`](super::Reducer) they are handed over at once; in the sharded
//! pipeline they cross threads and are applied in the order of the records
//! that caused them, which is why every thread count gives the same outputs.

use crate::event::{CallType, SdkAgentState, SdkCallType, Timestamp};

use super::agent::{AgentOp, LegUpdate};
use super::call::Name;
use crate::pipeline::Origin;

/// One message to the agent side.
#[derive(Clone, Debug)]
pub struct AgentMsg {
    /// The tenant.
    pub tenant: Name,
    /// Event time.
    pub at: Timestamp,
    /// The record it comes from: a login's marks where the agent's state
    /// begins, for the commit floors ([`AgentTable::open_floors`](super::AgentTable::open_floors)).
    pub origin: Origin,
    /// What happened.
    pub body: AgentBody,
}

impl AgentMsg {
    /// The agent the message is about (empty for a link loss, which every
    /// agent side receives from its own shard).
    pub fn agent(&self) -> &[u8] {
        match &self.body {
            AgentBody::Op { agent, .. }
            | AgentBody::Leg { agent, .. }
            | AgentBody::Sdk { agent, .. } => agent,
            AgentBody::LinkLost { .. } => &[],
        }
    }
}

/// What a message says.
#[derive(Clone, Debug)]
pub enum AgentBody {
    /// An agent or DN event (T-Library, IVR).
    Op {
        /// The agent (named by the event, else the DN's binding).
        agent: Name,
        /// The DN, empty if none.
        dn: Name,
        /// The queue, empty if none.
        queue: Name,
        /// A hash of the reporting server, 0 if none.
        server: u64,
        /// What it does.
        op: AgentOp,
        /// The not-ready reason code, empty if none.
        reason: Name,
    },
    /// A call leg changed on a DN.
    Leg {
        /// The DN.
        dn: Name,
        /// The agent at the leg (the call event's AgentID, else the DN's binding).
        agent: Name,
        /// The connection hash.
        conn: u64,
        /// The change.
        update: LegUpdate,
        /// The call type, if the event said.
        call_type: Option<CallType>,
        /// A hash of the reporting server, 0 if none.
        server: u64,
    },
    /// An agent desktop SDK `agentStatus`.
    Sdk {
        /// The agent.
        agent: Name,
        /// The agent's extension, empty if none.
        dn: Name,
        /// The pause description, empty if none.
        reason: Name,
        /// The SDK state.
        state: Option<SdkAgentState>,
        /// The hash of `mainUniqueId`, 0 if none.
        conn: u64,
        /// The SDK call type.
        call_type: Option<SdkCallType>,
    },
    /// A T-Server lost its CTI link.
    LinkLost {
        /// A hash of the server.
        server: u64,
    },
}
