//! Attribute names and values. A value never owns text: it is a [`Span`] into
//! the record it was decoded from, so decoding allocates nothing per field.

/// A byte range of the record payload (offset and length, 32 bits each: records
/// are limited far below 4 GiB).
// Aligned to 8 so a span is stored and loaded as one word: decoders pass values
// through stack slots, and a span written as two u32 stores but read as one u64
// defeats store-to-load forwarding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C, align(8))]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Span {
    /// The span `start..end`.
    ///
    /// # Panics
    /// In debug builds, when `end < start`.
    #[inline]
    pub fn new(start: usize, end: usize) -> Span {
        debug_assert!(end >= start);
        Span::from_word((start as u64 & 0xffff_ffff) | (((end - start) as u64) << 32))
    }

    /// Builds the span from one word (start in the low half), so the compiler
    /// emits a single 8-byte store.
    #[inline(always)]
    fn from_word(word: u64) -> Span {
        Span { start: word as u32, len: (word >> 32) as u32 }
    }

    /// The bytes of this span in `payload`; empty if it does not fit.
    #[inline]
    pub fn of(self, payload: &[u8]) -> &[u8] {
        let start = self.start as usize;
        payload.get(start..start + self.len as usize).unwrap_or_default()
    }

    /// One past the last byte.
    #[inline]
    pub fn end(self) -> usize {
        self.start as usize + self.len as usize
    }
}

/// An attribute value as it stands in the record.
// The tag is a whole word for the same reason as `Span`'s alignment: a value
// is copied as two words, and a tag written as one byte but read back as a
// word (right after a decoder returned it) stalled store-to-load forwarding.
// A layout detail for speed, not part of the API: no code relies on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Value {
    /// Text with no escapes: the span is the text itself.
    Text(Span),
    /// A JSON string with backslash escapes (span without the quotes); see
    /// [`crate::unescape_json`].
    JsonEscaped(Span),
    /// XML text with entity references; see [`crate::unescape_xml`].
    XmlEscaped(Span),
    /// An integer, or an enumeration already turned into its code.
    Int(i64),
    /// A number that is not an `i64` (fraction, exponent, out of range), raw.
    Number(Span),
    /// A boolean.
    Bool(bool),
    /// JSON `null`.
    Null,
    /// A nested JSON object or array, validated, kept raw.
    Json(Span),
    /// A T-Server log key-value list (`[len] hex` and its indented pairs), raw.
    KvList(Span),
}

/// Defines [`Attr`] with a documentation line per attribute.
macro_rules! attrs {
    ($( $(#[$doc:meta])* $variant:ident, )+) => {
        /// The attributes ctistream indexes, across all dialects. Each decoder maps
        /// its wire names onto these (T-Library names lose the `Attribute` prefix).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum Attr {
            $( $(#[$doc])* $variant, )+
        }

        impl Attr {
            /// Every attribute, in declaration order.
            pub const ALL: &'static [Attr] = &[$(Attr::$variant),+];

            /// The name used in reports and errors.
            pub const fn name(self) -> &'static str {
                match self { $( Attr::$variant => stringify!($variant), )+ }
            }
        }
    };
}

attrs! {
    /// Voice Microservices call thread id.
    CallThreadID,
    /// Connection id of the call at the switch.
    ConnID,
    /// Call UUID, stable for the call's life.
    CallUUID,
    /// Switch call id.
    CallID,
    /// The connection this one came from (consultation, transfer).
    PreviousConnID,
    /// The connection a transfer merged.
    TransferConnID,
    /// The connection a conference merged.
    ConferenceConnID,
    /// The DN the event is reported on.
    ThisDN,
    /// The queue of ThisDN.
    ThisQueue,
    /// The role of ThisDN.
    ThisDNRole,
    /// The counter-party.
    OtherDN,
    /// The counter-party's queue.
    OtherQueue,
    /// The counter-party's role.
    OtherDNRole,
    /// A third party (transferrer, routing destination, conferencer).
    ThirdPartyDN,
    /// The third party's role.
    ThirdPartyDNRole,
    /// The agent.
    AgentID,
    /// The agent's work mode.
    AgentWorkMode,
    /// The call type.
    CallType,
    /// The call state.
    CallState,
    /// The cause.
    Cause,
    /// Calling number.
    ANI,
    /// Called number.
    DNIS,
    /// Customer (tenant) id.
    CustomerID,
    /// The request this event answers.
    ReferenceID,
    /// Per-server event sequence number.
    EventSequenceNumber,
    /// The server (connection) that reported the event.
    Server,
    /// Error code.
    ErrorCode,
    /// Error message.
    ErrorMessage,
    /// Call user data (key-value list).
    UserData,
    /// Reasons (key-value list; `ReasonCode`).
    Reasons,
    /// Extensions (key-value list).
    Extensions,
    /// The tenant named in the payload.
    Tenant,
    /// A reason in plain text (SDK pause description, IVR status detail).
    Reason,
    /// ORS request id.
    RequestId,
    /// ORS interaction id.
    InteractionId,
    /// ORS target interaction of a merge.
    ToInteractionId,
    /// ORS party id.
    PartyId,
    /// ORS focus device.
    FocusDeviceId,
    /// ORS party state.
    PartyState,
    /// ORS: what a `notcontrolled` is the result of.
    ResultOf,
    /// ORS action name (`redirect` in `interaction.redirect.done`).
    Action,
    /// ORS hint: the T-Library event behind the interaction event.
    CcEvent,
    /// ORS hints object, raw.
    Hints,
    /// SDK agent number.
    AgentNo,
    /// SDK main call id.
    MainUniqueId,
    /// SDK call type.
    SdkCallType,
    /// SDK agent state.
    SdkState,
    /// SDK state action.
    StateAction,
    /// SDK pause type.
    PauseType,
    /// SDK device status.
    DeviceStatus,
    /// SDK customer number.
    CustomerNumber,
    /// IVR server version.
    ServerVersion,
    /// IVR login result.
    Result,
    /// IVR status.
    Status,
    /// IVR configuration options.
    ConfigOptions,
    /// IVR server or switch name.
    Name,
    /// IVR switch.
    Switch,
    /// IVR port number.
    PortNum,
}

/// Attributes whose values are T-Library enumerations, with the table each
/// one uses. Decoders turn names into codes at decode time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnumTable {
    CallType,
    CallState,
    DnRole,
    AgentWorkMode,
    Cause,
}

impl Attr {
    /// The enumeration this attribute holds, if any.
    pub(crate) const fn enum_table(self) -> Option<EnumTable> {
        match self {
            Attr::CallType => Some(EnumTable::CallType),
            Attr::CallState => Some(EnumTable::CallState),
            Attr::ThisDNRole | Attr::OtherDNRole | Attr::ThirdPartyDNRole => {
                Some(EnumTable::DnRole)
            }
            Attr::AgentWorkMode => Some(EnumTable::AgentWorkMode),
            Attr::Cause => Some(EnumTable::Cause),
            _ => None,
        }
    }
}

impl EnumTable {
    /// The code of a name in this table.
    pub(crate) fn code_of(self, name: &[u8]) -> Option<i64> {
        use super::enums::{AgentWorkMode, CallState, CallType, Cause, DnRole};
        match self {
            EnumTable::CallType => CallType::from_name(name).map(CallType::code),
            EnumTable::CallState => CallState::from_name(name).map(CallState::code),
            EnumTable::DnRole => DnRole::from_name(name).map(DnRole::code),
            EnumTable::AgentWorkMode => AgentWorkMode::from_name(name).map(AgentWorkMode::code),
            EnumTable::Cause => Cause::from_name(name).map(Cause::code),
        }
    }
}

impl std::fmt::Display for Attr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
