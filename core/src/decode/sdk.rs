//! The `sdk` dialect: agent desktop SDK events (PROTOCOLS.md `sdk`, DOMAIN.md
//! section 5), one JSON object per record with its type in `eventType`:
//!
//! ```text
//! {"eventType":"agentStatus","tenantId":"t1","agentNo":"1001","state":"talking",
//!  "callType":1,"mainUniqueId":"medias_1-1645776905.37","timestamp":1645776905370}
//! ```
//!
//! - Every `eventType` is accepted: the 40 of the catalog by name, any other as
//!   [`SdkEvent::Other`] (the catalog grows; new types are passed on, not lost).
//! - `state` must be an SDK agent state name ([`SdkAgentState`]); `callType` is a
//!   name or an integer code ([`SdkCallType`]; unknown codes kept).
//! - Time: `timestamp` or `time`, each either an integer of epoch
//!   **milliseconds** (the JavaScript clock the SDK runs on) or RFC 3339 text; if
//!   both are present, the later member wins.
//! - Agent key `tenantId:agentNo` (`cno` is the older name of `agentNo`); call
//!   key `mainUniqueId`; events with neither (ping, webrtcStats,
//!   sipDisconnected) are keyed by the record key.

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{
    AgentStatus, Attr, Dialect, Event, EventKind, EventMeta, SdkAgentState, SdkCallType, SdkEvent,
    Value,
};

use super::json::{for_each_member, unescape_json};
use super::ors::{is_blank, text_value, time, value_start};
use super::{DecodeOptions, tlib};

/// Decodes one agent desktop SDK JSON record.
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    let mut event = Event::start(payload, key, Dialect::Sdk, EventKind::Sdk(SdkEvent::Other));
    let meta = event.meta_mut();
    let mut named = false;
    // Fallbacks that only apply when the preferred member is absent, whatever
    // the member order: `cno` for `agentNo`, `bindEndpoint` for `exten`.
    let (mut cno, mut endpoint) = (None, None);
    for_each_member(payload, options.max_depth, |scanner, member| {
        let at = value_start(payload, scanner.pos());
        let value = scanner.value(1)?;
        let end = scanner.pos();
        let (attr, value) = match member {
            b"eventType" => {
                meta.kind = EventKind::Sdk(event_type(value, payload, at)?);
                named = true;
                return Ok(());
            }
            b"timestamp" | b"time" => {
                meta.time = Some(time(value, payload, at)?);
                return Ok(());
            }
            b"cno" => {
                cno = Some(text_value(Attr::AgentNo, value, at, end)?);
                return Ok(());
            }
            b"bindEndpoint" => {
                // At login it is an object ({endpointType, endpoint}); only the
                // plain form names the extension.
                if matches!(value, Value::Text(_) | Value::JsonEscaped(_) | Value::Int(_)) {
                    endpoint = Some(text_value(Attr::ThisDN, value, at, end)?);
                }
                return Ok(());
            }
            b"tenantId" => (Attr::Tenant, text_value(Attr::Tenant, value, at, end)?),
            b"agentNo" => (Attr::AgentNo, text_value(Attr::AgentNo, value, at, end)?),
            b"mainUniqueId" => {
                (Attr::MainUniqueId, text_value(Attr::MainUniqueId, value, at, end)?)
            }
            b"exten" => (Attr::ThisDN, text_value(Attr::ThisDN, value, at, end)?),
            b"customerNumber" => {
                (Attr::CustomerNumber, text_value(Attr::CustomerNumber, value, at, end)?)
            }
            b"pauseDescription" => (Attr::Reason, text_value(Attr::Reason, value, at, end)?),
            b"callType" => (Attr::SdkCallType, call_type(value, payload, at)?),
            b"state" => (Attr::SdkState, state(value, payload, at)?),
            b"stateAction" => {
                (Attr::StateAction, tlib::normalize(Attr::StateAction, value, payload, at)?)
            }
            b"pauseType" => {
                (Attr::PauseType, tlib::normalize(Attr::PauseType, value, payload, at)?)
            }
            b"deviceStatus" => {
                (Attr::DeviceStatus, tlib::normalize(Attr::DeviceStatus, value, payload, at)?)
            }
            _ => return Ok(()),
        };
        meta.set(attr, value);
        Ok(())
    })?;
    if !named {
        return Err(DecodeError::new(ErrorKind::MissingEventName, 0));
    }
    let blank =
        |meta: &EventMeta, attr| meta.get(attr).is_none_or(|value| is_blank(value, payload));
    if let (Some(value), true) = (cno, blank(meta, Attr::AgentNo)) {
        meta.set(Attr::AgentNo, value);
    }
    if let (Some(value), true) = (endpoint, blank(meta, Attr::ThisDN)) {
        meta.set(Attr::ThisDN, value);
    }
    // An agent state change must say whose state changed: from the payload, or
    // from the record key (`tenant:agent`).
    if meta.kind == EventKind::Sdk(SdkEvent::AgentStatus)
        && blank(meta, Attr::AgentNo)
        && key.is_none()
    {
        return Err(DecodeError::new(
            ErrorKind::MissingAttribute { event: meta.kind, attr: Attr::AgentNo },
            0,
        ));
    }
    Ok(event)
}

/// `eventType`: any name; unknown ones become [`SdkEvent::Other`]. An empty or
/// null name is no name.
fn event_type(value: Value, payload: &[u8], at: usize) -> DecodeResult<SdkEvent> {
    match value {
        Value::Text(span) if span.len > 0 => Ok(SdkEvent::from_name(span.of(payload))),
        Value::JsonEscaped(span) => {
            Ok(SdkEvent::from_name(unescape_json(span.of(payload)).as_bytes()))
        }
        Value::Text(_) | Value::Null => Err(DecodeError::new(ErrorKind::MissingEventName, at)),
        _ => Err(DecodeError::new(
            ErrorKind::InvalidValue { field: "eventType", expected: "a string" },
            at,
        )),
    }
}

/// `callType`: an integer code (unknown codes kept), a string of digits, or a
/// name (`"inbound"`, any letter case); stored as the code.
fn call_type(value: Value, payload: &[u8], at: usize) -> DecodeResult<Value> {
    let by_name = |name: &[u8]| {
        if !name.is_empty() && name.len() <= 18 && name.iter().all(u8::is_ascii_digit) {
            let code = name.iter().fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
            return Ok(Value::Int(code));
        }
        match SdkCallType::from_name(name) {
            Some(call_type) => Ok(Value::Int(call_type.code())),
            None => {
                Err(DecodeError::new(ErrorKind::UnknownEnumName { attr: Attr::SdkCallType }, at)
                    .with_found(name))
            }
        }
    };
    match value {
        Value::Int(_) | Value::Null => Ok(value),
        Value::Text(span) => by_name(span.of(payload)),
        Value::JsonEscaped(span) => by_name(unescape_json(span.of(payload)).as_bytes()),
        _ => Err(tlib::invalid(Attr::SdkCallType, "a call type name or integer", at)),
    }
}

/// `state`: one of the SDK agent state names, kept as text.
fn state(value: Value, payload: &[u8], at: usize) -> DecodeResult<Value> {
    let check = |name: &[u8]| match SdkAgentState::from_name(name) {
        SdkAgentState::Other => {
            Err(DecodeError::new(ErrorKind::UnknownEnumName { attr: Attr::SdkState }, at)
                .with_found(name))
        }
        _ => Ok(value),
    };
    match value {
        Value::Null => Ok(value),
        Value::Text(span) => check(span.of(payload)),
        Value::JsonEscaped(span) => check(unescape_json(span.of(payload)).as_bytes()),
        _ => Err(tlib::invalid(Attr::SdkState, "a state name", at)),
    }
}

/// Accessors for the attributes only agent desktop SDK events carry.
impl<'a> Event<'a> {
    /// The SDK agent state (`state`, on `agentStatus` events).
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{Decoder, Format, SdkAgentState};
    ///
    /// let record = br#"{"eventType":"agentStatus","tenantId":"t1","agentNo":"1001","state":"wrapup"}"#;
    /// let event = Decoder::new(Format::Sdk).decode(record, None)?;
    /// assert_eq!(event.sdk_state(), Some(SdkAgentState::Wrapup));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sdk_state(&self) -> Option<SdkAgentState> {
        // Borrowed text unless the name had escapes; the decoder has already
        // checked that it names a state.
        let name = self.text(Attr::SdkState)?;
        Some(SdkAgentState::from_name(name.as_bytes()))
    }

    /// The SDK call type (`callType`); codes this version does not know come back
    /// as [`SdkCallType::Other`].
    pub fn sdk_call_type(&self) -> Option<SdkCallType> {
        self.int(Attr::SdkCallType).map(SdkCallType::from_code)
    }

    /// The unified agent status (PROTOCOLS.md "Unified agent status") of the
    /// SDK state: offline and invalid → `LoggedOut`, idle → `WaitForNextCall`,
    /// busy → `NotReadyForNextCall`, wrapup → `AfterCallWork`, calling →
    /// `CallDialing`, ringing → `CallRinging`, talking → `CallOutbound` when the
    /// call type is an outbound one ([`SdkCallType::is_outbound`]), else
    /// `CallInbound` (also when the call type is absent). `None` without a state.
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{AgentStatus, Decoder, Format};
    ///
    /// let record = br#"{"eventType":"agentStatus","agentNo":"1001","state":"talking","callType":"outbound"}"#;
    /// let event = Decoder::new(Format::Sdk).decode(record, None)?;
    /// assert_eq!(event.sdk_status(), Some(AgentStatus::CallOutbound));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sdk_status(&self) -> Option<AgentStatus> {
        Some(match self.sdk_state()? {
            SdkAgentState::Offline | SdkAgentState::Invalid => AgentStatus::LoggedOut,
            SdkAgentState::Idle => AgentStatus::WaitForNextCall,
            SdkAgentState::Busy => AgentStatus::NotReadyForNextCall,
            SdkAgentState::Wrapup => AgentStatus::AfterCallWork,
            SdkAgentState::Calling => AgentStatus::CallDialing,
            SdkAgentState::Ringing => AgentStatus::CallRinging,
            SdkAgentState::Talking => match self.sdk_call_type() {
                Some(call_type) if call_type.is_outbound() => AgentStatus::CallOutbound,
                _ => AgentStatus::CallInbound,
            },
            // Unreachable for decoded events (the decoder rejects unknown states).
            SdkAgentState::Other => return None,
        })
    }
}
