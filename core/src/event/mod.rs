//! The event model: one [`Event`] type for every dialect, borrowing its text from
//! the record it was decoded from.
//!
//! An event is a kind ([`EventKind`]), an optional event time, the record key,
//! and an index of attributes ([`Attr`] → [`Value`]). Values are spans of the
//! record, so a decoded event costs no allocation: the attribute index lives in a
//! `SmallVec` sized for real events. [`Event::into_owned`] copies the record once
//! when a caller must keep an event beyond the record's life.

mod attr;
mod builder;
mod code_enum;
mod enums;
mod kind;
mod time;

use std::borrow::Cow;

use bytes::Bytes;
use smallvec::SmallVec;

pub use attr::{Attr, Span, Value};
pub use builder::EventBuilder;
pub use enums::{AgentStatus, AgentWorkMode, CallState, CallType, Cause, DnRole, SdkCallType};
pub use kind::{
    Category, Dialect, EventKind, IvrMessage, IvrStatus, OrsEvent, OrsNamespace, SdkAgentState,
    SdkEvent, TEvent,
};
pub use time::Timestamp;

use crate::decode::json::unescape_json;

/// Attributes kept inline before the index spills to the heap; real events
/// carry 8–20 indexed attributes.
const INLINE_ATTRS: usize = 24;

/// The attribute index of an event.
pub(crate) type AttrIndex = SmallVec<[(Attr, Value); INLINE_ATTRS]>;

/// The tenant used when neither the record key nor the payload names one.
pub const DEFAULT_TENANT: &str = "default";

/// Everything about an event except the bytes it borrows.
#[derive(Debug)]
pub(crate) struct EventMeta {
    pub(crate) dialect: Dialect,
    pub(crate) kind: EventKind,
    pub(crate) time: Option<Timestamp>,
    pub(crate) attrs: AttrIndex,
    /// One bit per [`Attr`] present, so lookups of absent attributes and
    /// duplicate checks cost one test.
    pub(crate) present: u128,
}

impl Clone for EventMeta {
    /// The index copied as one block: `SmallVec`'s own `clone` pushes the
    /// attributes one by one.
    fn clone(&self) -> EventMeta {
        EventMeta {
            dialect: self.dialect,
            kind: self.kind,
            time: self.time,
            attrs: SmallVec::from_slice(&self.attrs),
            present: self.present,
        }
    }
}

impl EventMeta {
    pub(crate) fn new(dialect: Dialect, kind: EventKind) -> EventMeta {
        EventMeta { dialect, kind, time: None, attrs: SmallVec::new(), present: 0 }
    }

    /// Sets `attr`; a later duplicate replaces the earlier value (JSON's
    /// last-member-wins, as serde_json does).
    #[inline]
    pub(crate) fn set(&mut self, attr: Attr, value: Value) {
        let bit = 1u128 << attr as u8;
        if self.present & bit != 0 {
            if let Some(slot) = self.attrs.iter_mut().find(|(a, _)| *a == attr) {
                slot.1 = value;
            }
            return;
        }
        self.present |= bit;
        self.attrs.push((attr, value));
    }

    #[inline]
    pub(crate) fn has(&self, attr: Attr) -> bool {
        self.present & (1u128 << attr as u8) != 0
    }

    #[inline]
    pub(crate) fn get(&self, attr: Attr) -> Option<Value> {
        if !self.has(attr) {
            return None;
        }
        self.attrs.iter().find(|(a, _)| *a == attr).map(|(_, v)| *v)
    }
}

/// A decoded event borrowing the record it came from.
///
/// # Examples
///
/// ```
/// use ctistream_core::{Attr, CallType, Decoder, EventKind, Format, TEvent};
///
/// let record = br#"{"id":"EventRinging","CallThreadID":"ct-1","ThisDN":"5001","CallType":"Inbound"}"#;
/// let event = Decoder::new(Format::Genesys).decode(record, Some(b"t1:ct-1"))?;
/// assert_eq!(event.kind(), EventKind::TLib(TEvent::Ringing));
/// assert_eq!(event.text(Attr::ThisDN).as_deref(), Some("5001"));
/// assert_eq!(event.call_type(), Some(CallType::Inbound));
/// assert_eq!(event.tenant(), b"t1");
/// assert_eq!(event.call_key(), Some(&b"ct-1"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Event<'a> {
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    meta: EventMeta,
}

/// An event that owns its record (see [`Event::into_owned`]).
#[derive(Clone, Debug)]
pub struct OwnedEvent {
    payload: Bytes,
    key: Option<Bytes>,
    meta: EventMeta,
}

impl OwnedEvent {
    /// A borrowed view of this event (copies the small index, not the record).
    pub fn event(&self) -> Event<'_> {
        Event { payload: &self.payload, key: self.key.as_deref(), meta: self.meta.clone() }
    }

    /// The record payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }
}

impl<'a> Event<'a> {
    /// An event of `kind` with no attributes yet, for a decoder to fill in place
    /// through [`Event::meta_mut`]: the event is large (its attribute index is
    /// inline), and filling a separate `EventMeta` would cost a copy of it.
    pub(crate) fn start(
        payload: &'a [u8],
        key: Option<&'a [u8]>,
        dialect: Dialect,
        kind: EventKind,
    ) -> Event<'a> {
        Event { payload, key, meta: EventMeta::new(dialect, kind) }
    }

    /// An event of `payload` whose index was built apart from it (by the IVR
    /// decoder's element walk, or by the router for a record every shard reads).
    pub(crate) fn with_meta(
        payload: &'a [u8],
        key: Option<&'a [u8]>,
        meta: EventMeta,
    ) -> Event<'a> {
        Event { payload, key, meta }
    }

    /// The decoded index and kind.
    pub(crate) fn meta(&self) -> &EventMeta {
        &self.meta
    }

    /// The index and kind, for a decoder filling the event in place.
    pub(crate) fn meta_mut(&mut self) -> &mut EventMeta {
        &mut self.meta
    }

    pub(crate) fn set_key(&mut self, key: Option<&'a [u8]>) {
        self.key = key;
    }

    /// Copies the record so the event outlives it.
    pub fn into_owned(self) -> OwnedEvent {
        OwnedEvent {
            payload: Bytes::copy_from_slice(self.payload),
            key: self.key.map(Bytes::copy_from_slice),
            meta: self.meta,
        }
    }

    /// Like [`into_owned`](Self::into_owned), but shares `record` (which must hold the
    /// payload and key this event borrows) instead of copying: no allocation.
    ///
    /// # Panics
    /// When the payload or the key is not a slice of `record`.
    pub fn into_shared(self, record: &Bytes) -> OwnedEvent {
        OwnedEvent {
            payload: record.slice_ref(self.payload),
            key: self.key.map(|key| record.slice_ref(key)),
            meta: self.meta,
        }
    }

    /// The dialect the event was decoded from.
    #[inline]
    pub fn dialect(&self) -> Dialect {
        self.meta.dialect
    }

    /// What the event is.
    #[inline]
    pub fn kind(&self) -> EventKind {
        self.meta.kind
    }

    /// The event time from the payload; `None` when the record had none (the
    /// pipeline then uses the ingest time).
    #[inline]
    pub fn time(&self) -> Option<Timestamp> {
        self.meta.time
    }

    /// The record payload the event borrows.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The record key (`TENANT:ID`), if the record had one.
    #[inline]
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }

    /// The indexed attributes, in record order.
    pub fn attrs(&self) -> impl Iterator<Item = (Attr, Value)> + '_ {
        self.meta.attrs.iter().copied()
    }

    /// The raw value of `attr`.
    #[inline]
    pub fn get(&self, attr: Attr) -> Option<Value> {
        self.meta.get(attr)
    }

    /// Whether the event carries `attr`.
    #[inline]
    pub fn has(&self, attr: Attr) -> bool {
        self.meta.has(attr)
    }

    /// The raw bytes of a text, number or nested value (escapes left as they are).
    pub fn raw(&self, attr: Attr) -> Option<&'a [u8]> {
        match self.get(attr)? {
            Value::Text(span)
            | Value::JsonEscaped(span)
            | Value::XmlEscaped(span)
            | Value::Number(span)
            | Value::Json(span)
            | Value::KvList(span) => Some(span.of(self.payload)),
            Value::Int(_) | Value::Bool(_) | Value::Null => None,
        }
    }

    /// The value of `attr` as text: borrowed unless escapes had to be decoded;
    /// integers are formatted. `None` if absent, null or boolean.
    pub fn text(&self, attr: Attr) -> Option<Cow<'a, str>> {
        let value = self.get(attr)?;
        // `from_utf8` first: its ASCII fast path is several times quicker than
        // `from_utf8_lossy`'s scan on valid text, which is nearly all text.
        let utf8 = |bytes: &'a [u8]| match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        match value {
            Value::Text(span) | Value::Number(span) | Value::Json(span) | Value::KvList(span) => {
                Some(utf8(span.of(self.payload)))
            }
            Value::JsonEscaped(span) => Some(Cow::Owned(unescape_json(span.of(self.payload)))),
            Value::XmlEscaped(span) => Some(crate::decode::unescape_xml(span.of(self.payload))),
            Value::Int(n) => Some(Cow::Owned(n.to_string())),
            Value::Bool(_) | Value::Null => None,
        }
    }

    /// The value of `attr` as an integer (an integer value, or text of digits).
    pub fn int(&self, attr: Attr) -> Option<i64> {
        match self.get(attr)? {
            Value::Int(n) => Some(n),
            Value::Text(span) => std::str::from_utf8(span.of(self.payload)).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// `CallType`.
    pub fn call_type(&self) -> Option<CallType> {
        self.int(Attr::CallType).map(CallType::from_code)
    }

    /// `CallState`.
    pub fn call_state(&self) -> Option<CallState> {
        self.int(Attr::CallState).map(CallState::from_code)
    }

    /// `Cause`.
    pub fn cause(&self) -> Option<Cause> {
        self.int(Attr::Cause).map(Cause::from_code)
    }

    /// `AgentWorkMode`.
    pub fn work_mode(&self) -> Option<AgentWorkMode> {
        self.int(Attr::AgentWorkMode).map(AgentWorkMode::from_code)
    }

    /// A DN role attribute (`ThisDNRole`, `OtherDNRole`, `ThirdPartyDNRole`).
    pub fn dn_role(&self, attr: Attr) -> Option<DnRole> {
        self.int(attr).map(DnRole::from_code)
    }

    /// The tenant: the record key's, else the payload's (`tenant`, `tenantId`,
    /// `CustomerID`), else [`DEFAULT_TENANT`].
    pub fn tenant(&self) -> &'a [u8] {
        if let Some((tenant, _)) = self.key.and_then(split_key) {
            return tenant;
        }
        for attr in [Attr::Tenant, Attr::CustomerID] {
            if let Some(Value::Text(span)) = self.get(attr) {
                return span.of(self.payload);
            }
        }
        DEFAULT_TENANT.as_bytes()
    }

    /// The ID part of the record key (`TENANT:ID` → `ID`; a key with no `:` is all ID).
    pub fn key_id(&self) -> Option<&'a [u8]> {
        let key = self.key?;
        Some(split_key(key).map_or(key, |(_, id)| id))
    }

    /// The call-thread key of a call event: the key's ID, else `CallThreadID`,
    /// else `CallUUID`, else `ConnID` (ORS: `interactionid`, or `tointeractionid`
    /// for `onmerge`; SDK: `mainUniqueId`).
    pub fn call_key(&self) -> Option<&'a [u8]> {
        if !self.kind().is_agent_event() {
            if let Some(id) = self.key_id() {
                return Some(id);
            }
        }
        let order: &[Attr] = match self.kind() {
            EventKind::Ors(OrsEvent::OnMerge) => &[Attr::ToInteractionId, Attr::InteractionId],
            EventKind::Ors(_) => &[Attr::InteractionId],
            EventKind::Sdk(_) => &[Attr::MainUniqueId],
            _ => &[Attr::CallThreadID, Attr::CallUUID, Attr::ConnID],
        };
        order.iter().find_map(|&attr| self.raw(attr).filter(|raw| !raw.is_empty()))
    }

    /// The agent key of an agent event: the key's ID, else `AgentID` (SDK:
    /// `agentNo`; IVR: the port). Binding a DN to its agent is the reducer's job.
    pub fn agent_key(&self) -> Option<&'a [u8]> {
        if self.kind().is_agent_event() {
            if let Some(id) = self.key_id() {
                return Some(id);
            }
        }
        [Attr::AgentID, Attr::AgentNo, Attr::PortNum]
            .iter()
            .find_map(|&attr| self.raw(attr).filter(|raw| !raw.is_empty()))
    }
}

/// Splits `TENANT:ID` at the first `:`; `None` when there is no `:`.
pub fn split_key(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', key)?;
    Some((&key[..colon], &key[colon + 1..]))
}
