//! The agent-facing dialects: agent desktop SDK status events and IVR Server
//! agent monitoring messages. Both see agents only: an SDK desktop reports
//! the calls at its own extension; IVR Server reports agents' states alone.

use std::fmt::Write as _;

use ctistream_core::TEvent;

use super::{Ev, Party, START_MS};

/// One SDK `agentStatus` event for an agent event, or for a call event at an
/// agent's extension; nothing for the rest (routing points, queues, holds).
pub(super) fn sdk(line: &mut String, ev: &Ev) {
    let Party::Agent(agent) = ev.this else { return };
    let on_call = ev.call != u32::MAX;
    let state = match (on_call, ev.kind) {
        (false, TEvent::AgentLogin) => "busy",
        (false, TEvent::AgentReady) => "idle",
        (false, TEvent::AgentNotReady) if ev.acw => "wrapup",
        (false, TEvent::AgentNotReady) => "busy",
        (false, TEvent::AgentLogout) => "offline",
        (true, TEvent::Dialing) => "calling",
        (true, TEvent::Ringing) => "ringing",
        (true, TEvent::Established) => "talking",
        _ => return,
    };
    let tenant = ev.tenant + 1;
    let _ = write!(
        line,
        "t{tenant}:a{agent}\t{{\"eventType\":\"agentStatus\",\"tenantId\":\"t{tenant}\",\
         \"agentNo\":\"a{agent}\",\"exten\":\"{}\",\"state\":\"{state}\"",
        50_000 + agent
    );
    if let Some(reason) = ev.reason {
        let _ = write!(line, ",\"pauseDescription\":\"{reason}\"");
    }
    if on_call {
        // SDK call types: 1 inbound, 6 outbound, 9 internal (a consultation).
        let call_type = match (ev.leg, ev.call_type) {
            (1, _) => 9,
            (_, ctistream_core::CallType::Outbound) => 6,
            _ => 1,
        };
        // A consultation is reported under its main call's id: the desktop
        // shows one call the agent works on, not two.
        let _ = write!(line, ",\"mainUniqueId\":\"ct-{}\",\"callType\":{call_type}", ev.call);
    }
    let _ = writeln!(line, ",\"timestamp\":{}}}", START_MS + ev.t);
}

/// One IVR Server `MonitorInfo` agent message for an agent event; nothing
/// for calls (IVR Server monitors agents, not their calls).
pub(super) fn ivr(line: &mut String, ev: &Ev) {
    let Party::Agent(agent) = ev.this else { return };
    if ev.call != u32::MAX {
        return;
    }
    let status = match ev.kind {
        TEvent::AgentLogin => "LoggedIn",
        TEvent::AgentReady => "Ready",
        TEvent::AgentNotReady => "NotReady",
        TEvent::AgentLogout => "LoggedOut",
        _ => return,
    };
    let _ = writeln!(
        line,
        "t{}:a{agent}\t<GctiMsg><MonitorInfo><Agent PortNum=\"{}\" Status=\"{status}\"/>\
         </MonitorInfo></GctiMsg>",
        ev.tenant + 1,
        50_000 + agent
    );
}
