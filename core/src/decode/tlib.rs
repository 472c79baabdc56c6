//! What the two T-Library dialects (`genesys` JSON and `tlog` text) share:
//! attribute names, enumeration values, and the attributes an event cannot be
//! processed without.

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{Attr, Category, Event, EventKind, TEvent, Value};

use super::json::unescape_json;

/// The T-Library attribute `name` (without the `Attribute` prefix), if indexed.
// Always inlined, like `normalize`: called once per member of every record,
// and an out-of-line call cost 5% of the genesys decode.
#[inline(always)]
pub(crate) fn attr_by_name(name: &[u8]) -> Option<Attr> {
    Some(match name {
        b"CallThreadID" => Attr::CallThreadID,
        b"ConnID" => Attr::ConnID,
        b"CallUUID" => Attr::CallUUID,
        b"CallID" => Attr::CallID,
        b"PreviousConnID" => Attr::PreviousConnID,
        b"TransferConnID" => Attr::TransferConnID,
        b"ConferenceConnID" => Attr::ConferenceConnID,
        b"ThisDN" => Attr::ThisDN,
        b"ThisQueue" => Attr::ThisQueue,
        b"ThisDNRole" => Attr::ThisDNRole,
        b"OtherDN" => Attr::OtherDN,
        b"OtherQueue" => Attr::OtherQueue,
        b"OtherDNRole" => Attr::OtherDNRole,
        b"ThirdPartyDN" => Attr::ThirdPartyDN,
        b"ThirdPartyDNRole" => Attr::ThirdPartyDNRole,
        b"AgentID" => Attr::AgentID,
        b"AgentWorkMode" | b"WorkMode" => Attr::AgentWorkMode,
        b"CallType" => Attr::CallType,
        b"CallState" => Attr::CallState,
        b"Cause" => Attr::Cause,
        b"ANI" => Attr::ANI,
        b"DNIS" => Attr::DNIS,
        b"CustomerID" => Attr::CustomerID,
        b"ReferenceID" => Attr::ReferenceID,
        b"EventSequenceNumber" => Attr::EventSequenceNumber,
        b"Server" => Attr::Server,
        b"ErrorCode" => Attr::ErrorCode,
        b"ErrorMessage" => Attr::ErrorMessage,
        b"UserData" => Attr::UserData,
        b"Reasons" | b"Reason" => Attr::Reasons,
        b"Extensions" => Attr::Extensions,
        _ => return None,
    })
}

/// Checks the type of a T-Library attribute value and turns enumeration names
/// into codes. `at` is the value's offset, for errors.
// Always inlined: `Value` does not travel in registers, and reading it back
// whole right after the caller stored it in two parts stalled store-to-load
// forwarding (12% of the genesys decode in profiles).
#[inline(always)]
pub(crate) fn normalize(
    attr: Attr,
    value: Value,
    payload: &[u8],
    at: usize,
) -> DecodeResult<Value> {
    if let Some(table) = attr.enum_table() {
        let name = match value {
            Value::Int(_) => return Ok(value),
            Value::Text(span) => span.of(payload),
            Value::JsonEscaped(span) => {
                let name = unescape_json(span.of(payload));
                return match table.code_of(name.as_bytes()) {
                    Some(code) => Ok(Value::Int(code)),
                    None => Err(unknown_enum(attr, name.as_bytes(), at)),
                };
            }
            _ => return Err(invalid(attr, "an enumeration name or integer", at)),
        };
        return match table.code_of(name) {
            Some(code) => Ok(Value::Int(code)),
            None => Err(unknown_enum(attr, name, at)),
        };
    }
    match attr {
        // Key-value lists are kept raw and read on demand; a platform that sends
        // a scalar there has sent valid JSON, which is accepted as it is.
        Attr::UserData | Attr::Reasons | Attr::Extensions => Ok(value),
        _ => match value {
            Value::Text(_) | Value::JsonEscaped(_) | Value::Int(_) | Value::Number(_) => Ok(value),
            Value::Null => Ok(value),
            _ => Err(invalid(attr, "a string or a number", at)),
        },
    }
}

#[cold]
fn unknown_enum(attr: Attr, name: &[u8], at: usize) -> DecodeError {
    DecodeError::new(ErrorKind::UnknownEnumName { attr }, at).with_found(name)
}

#[cold]
pub(crate) fn invalid(attr: Attr, expected: &'static str, at: usize) -> DecodeError {
    DecodeError::new(ErrorKind::InvalidValue { field: attr.name(), expected }, at)
}

/// Whether a call event happens on one DN (and so needs `ThisDN`). The
/// call-based events of 8.x (`EventCall*`) describe the whole call instead.
fn is_party_event(event: TEvent) -> bool {
    use TEvent::*;
    matches!(
        event,
        Queued
            | Diverted
            | Abandoned
            | Ringing
            | Dialing
            | NetworkReached
            | DestinationBusy
            | Established
            | Released
            | Held
            | Retrieved
            | PartyChanged
            | PartyAdded
            | PartyDeleted
            | RouteRequest
            | RouteUsed
    )
}

/// Rejects T-Library events that lack what every reducer needs: a call event
/// needs a call identity, and a party, agent or DN event needs `ThisDN`.
pub(crate) fn check(event: &Event<'_>) -> DecodeResult<()> {
    let EventKind::TLib(tevent) = event.kind() else { return Ok(()) };
    let category = tevent.category();
    let needs_dn = match category {
        Category::Agent | Category::Dn => true,
        Category::Call => is_party_event(tevent),
        _ => false,
    };
    if needs_dn && !event.has(Attr::ThisDN) {
        return Err(DecodeError::new(
            ErrorKind::MissingAttribute { event: event.kind(), attr: Attr::ThisDN },
            0,
        ));
    }
    if category == Category::Call && event.call_key().is_none() {
        return Err(DecodeError::new(ErrorKind::MissingCallId { event: event.kind() }, 0));
    }
    Ok(())
}
