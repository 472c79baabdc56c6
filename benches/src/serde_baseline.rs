//! The serde_json baseline: the same Voice Microservices records deserialized
//! into a borrowed struct, as a user of serde would write it. Strings borrow
//! from the record where they have no escapes (`Cow`), nested lists stay raw
//! (`RawValue`): the closest serde gets to ctistream's zero-copy index.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// One Voice Microservices event, borrowed.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, Deserialize)]
pub struct VmEvent<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub time: Option<Cow<'a, str>>,
    pub Server: Option<i64>,
    #[serde(borrow)]
    pub CallThreadID: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ConnID: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub CallUUID: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ThisDN: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ThisQueue: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ThisDNRole: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub OtherDN: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub OtherDNRole: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub AgentID: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub AgentWorkMode: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub CallType: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub CallState: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ANI: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub DNIS: Option<Cow<'a, str>>,
    pub EventSequenceNumber: Option<i64>,
    pub ReferenceID: Option<i64>,
    #[serde(borrow)]
    pub UserData: Option<&'a RawValue>,
    #[serde(borrow)]
    pub Reasons: Option<&'a RawValue>,
    #[serde(borrow)]
    pub Extensions: Option<&'a RawValue>,
}

/// Deserializes one record.
///
/// # Errors
/// serde_json's error for a malformed record.
pub fn decode(record: &[u8]) -> serde_json::Result<VmEvent<'_>> {
    serde_json::from_slice(record)
}

/// One Orchestration Server event, borrowed.
#[allow(missing_docs)]
#[derive(Debug, Deserialize)]
pub struct OrsRecord<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub tenant: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub data: Option<OrsData<'a>>,
}

/// The `data` of an Orchestration Server event.
#[allow(missing_docs)]
#[derive(Debug, Deserialize)]
pub struct OrsData<'a> {
    #[serde(borrow)]
    pub interactionid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub requestid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub partyid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub focusdeviceid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub partystate: Option<Cow<'a, str>>,
    pub hints: Option<OrsHints>,
    #[serde(borrow)]
    pub udata: Option<&'a RawValue>,
}

/// ORS hints.
#[allow(missing_docs)]
#[derive(Debug, Deserialize)]
pub struct OrsHints {
    pub ccevent: Option<i64>,
    pub cause: Option<i64>,
    pub callstate: Option<i64>,
}

/// One agent desktop SDK event, borrowed.
#[allow(non_snake_case, missing_docs)]
#[derive(Debug, Deserialize)]
pub struct SdkRecord<'a> {
    #[serde(borrow)]
    pub eventType: Cow<'a, str>,
    #[serde(borrow)]
    pub tenantId: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub agentNo: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub mainUniqueId: Option<Cow<'a, str>>,
    pub callType: Option<i64>,
    #[serde(borrow)]
    pub state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub stateAction: Option<Cow<'a, str>>,
    pub deviceStatus: Option<i64>,
    #[serde(borrow)]
    pub pauseDescription: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub customerNumber: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub exten: Option<Cow<'a, str>>,
    pub timestamp: Option<i64>,
}
