//! Orchestration Server interaction events: what a routing strategy sees of a
//! routed call. Outbound calls and the agent-to-agent legs of transfers are
//! not orchestrated and write nothing.

use std::fmt::Write as _;

use ctistream_core::{CallType, TEvent};

use super::{Ev, Party, START_MS};

/// The interaction event(s) for `ev`, one JSON line each.
pub(super) fn ors(line: &mut String, ev: &Ev) {
    if ev.call == u32::MAX || ev.call_type == CallType::Outbound {
        return;
    }
    let call = ev.call;
    let device = match ev.this {
        Party::Agent(agent) => (50_000 + agent).to_string(),
        Party::RoutingPoint(queue) => (7_000 + queue).to_string(),
        _ => String::new(),
    };
    let main = ev.leg == 0;
    match (ev.kind, ev.this) {
        (TEvent::RouteRequest, Party::RoutingPoint(_)) => {
            event(
                line,
                ev,
                "interaction.added",
                &format!(
                    "\"focusdeviceid\":\"{device}\",\"partyid\":\"p-{call}-0\",\"partystate\":\"Queued\",\
                 \"hints\":{{\"ccevent\":\"EventRouteRequest\"}}"
                ),
            );
            event(
                line,
                ev,
                "interaction.onrouterequest",
                &format!("\"focusdeviceid\":\"{device}\",\"partyid\":\"p-{call}-0\""),
            );
        }
        (TEvent::RouteUsed, Party::RoutingPoint(_)) => {
            let Party::Agent(agent) = ev.third else { return };
            // The strategy's redirect request and its result.
            let request = format!(
                "\"requestid\":\"req-{call}\",\"focusdeviceid\":\"{device}\",\"destination\":\"{}\"",
                50_000 + agent
            );
            event(line, ev, "interaction.redirect", &request);
            event(line, ev, "interaction.redirect.done", &format!("\"requestid\":\"req-{call}\""));
        }
        (TEvent::Ringing, Party::Agent(_)) if main => {
            event(
                line,
                ev,
                "interaction.partyadded",
                &format!(
                    "\"focusdeviceid\":\"{device}\",\"partyid\":\"p-{call}-{device}\",\"partystate\":\"Ringing\""
                ),
            );
        }
        (TEvent::Established, Party::Agent(_)) if main => {
            event(
                line,
                ev,
                "interaction.partystatechanged",
                &format!(
                    "\"focusdeviceid\":\"{device}\",\"partyid\":\"p-{call}-{device}\",\"partystate\":\"Established\""
                ),
            );
        }
        _ => {}
    }
    if ev.ends {
        event(line, ev, "interaction.deleted", "\"hints\":{\"ccevent\":\"EventReleased\"}");
    }
}

/// One event line: `name`, the time, the tenant and `data` with the
/// interaction id and `fields`.
fn event(line: &mut String, ev: &Ev, name: &str, fields: &str) {
    let tenant = ev.tenant + 1;
    let _ = writeln!(
        line,
        "t{tenant}:ct-{call}\t{{\"name\":\"{name}\",\"time\":{},\"tenant\":\"t{tenant}\",\
         \"data\":{{\"interactionid\":\"ct-{call}\",{fields}}}}}",
        START_MS + ev.t,
        call = ev.call,
    );
}
