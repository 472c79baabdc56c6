//! T-Library and platform enumerations (DOMAIN.md section 1.4), each accepted as
//! its name or its integer code, with unknown codes kept raw.

use super::code_enum::code_enum;

code_enum! {
    /// `AttributeCallType`: what kind of call a party is in.
    pub enum CallType {
        /// The switch did not say.
        Unknown = 0 => "Unknown",
        /// Between two DNs of the same switch.
        Internal = 1 => "Internal",
        /// From outside the switch.
        Inbound = 2 => "Inbound",
        /// To outside the switch.
        Outbound = 3 => "Outbound",
        /// A consultation leg of another call.
        Consult = 4 => "Consult",
    }
}

code_enum! {
    /// `AttributeCallState`: why a party reached its state (0–31, 49, 50 named).
    pub enum CallState {
        /// Normal.
        Ok = 0 => "Ok",
        /// The party was transferred.
        Transferred = 1 => "Transferred",
        /// The party joined a conference.
        Conferenced = 2 => "Conferenced",
        /// A general error.
        GeneralError = 3 => "GeneralError",
        /// A system error.
        SystemError = 4 => "SystemError",
        /// The far end released.
        RemoteRelease = 5 => "RemoteRelease",
        /// The destination was busy.
        Busy = 6 => "Busy",
        /// The destination did not answer.
        NoAnswer = 7 => "NoAnswer",
        /// A special information tone was detected.
        SitDetected = 8 => "SitDetected",
        /// An answering machine answered.
        AnsweringMachineDetected = 9 => "AnsweringMachineDetected",
        /// All trunks were busy.
        AllTrunksBusy = 10 => "AllTrunksBusy",
        /// SIT: invalid number.
        SitInvalidnum = 11 => "SitInvalidnum",
        /// SIT: vacant code.
        SitVacant = 12 => "SitVacant",
        /// SIT: intercept.
        SitIntercept = 13 => "SitIntercept",
        /// SIT: unknown.
        SitUnknown = 14 => "SitUnknown",
        /// SIT: no circuit.
        SitNocircuit = 15 => "SitNocircuit",
        /// SIT: reorder.
        SitReorder = 16 => "SitReorder",
        /// A fax answered.
        FaxDetected = 17 => "FaxDetected",
        /// The queue was full.
        QueueFull = 18 => "QueueFull",
        /// The call was cleared.
        Cleared = 19 => "Cleared",
        /// The call overflowed.
        Overflowed = 20 => "Overflowed",
        /// The caller abandoned.
        Abandoned = 21 => "Abandoned",
        /// The call was redirected.
        Redirected = 22 => "Redirected",
        /// The call was forwarded.
        Forwarded = 23 => "Forwarded",
        /// A consultation.
        Consult = 24 => "Consult",
        /// The call was picked up.
        Pickedup = 25 => "Pickedup",
        /// The call was dropped.
        Dropped = 26 => "Dropped",
        /// Dropped with no answer.
        Droppednoanswer = 27 => "Droppednoanswer",
        /// Unknown.
        Unknown = 28 => "Unknown",
        /// Covered.
        Covered = 29 => "Covered",
        /// Converse-on.
        ConverseOn = 30 => "ConverseOn",
        /// Bridged.
        Bridged = 31 => "Bridged",
        /// Deafened.
        Deafened = 49 => "Deafened",
        /// Held.
        Held = 50 => "Held",
    }
}

code_enum! {
    /// `TDNRole`, used by `ThisDNRole`, `OtherDNRole` and `ThirdPartyDNRole`.
    pub enum DnRole {
        /// Unknown.
        Unknown = 0 => "Unknown",
        /// The calling party.
        Origination = 1 => "Origination",
        /// The called party.
        Destination = 2 => "Destination",
        /// A member of a conference.
        ConferenceMember = 3 => "ConferenceMember",
        /// A party new to the call.
        NewParty = 4 => "NewParty",
        /// The party that added another.
        AddedBy = 5 => "AddedBy",
        /// The party that deleted another.
        DeletedBy = 6 => "DeletedBy",
        /// The party that transferred the call.
        TransferredBy = 7 => "TransferredBy",
        /// The party that left.
        DeletedParty = 8 => "DeletedParty",
        /// The party that made the conference.
        ConferencedBy = 9 => "ConferencedBy",
        /// A silent observer.
        Observer = 10 => "Observer",
    }
}

code_enum! {
    /// `TAgentWorkMode`.
    pub enum AgentWorkMode {
        /// Unknown.
        Unknown = 0 => "Unknown",
        /// Manual-in.
        ManualIn = 1 => "ManualIn",
        /// Auto-in (LegalGuard in a NotReady context).
        AutoIn = 2 => "AutoIn",
        /// After call work (wrap-up).
        AfterCallWork = 3 => "AfterCallWork",
        /// Auxiliary work.
        AuxWork = 4 => "AuxWork",
        /// No call disconnect.
        NoCallDisconnect = 5 => "NoCallDisconnect",
        /// Walk away.
        WalkAway = 6 => "WalkAway",
        /// Return back.
        ReturnBack = 7 => "ReturnBack",
    }
}

code_enum! {
    /// `AttributeCause`: why a call moved.
    pub enum Cause {
        /// No cause given.
        Empty = 0 => "EMPTY",
        /// ACD distribution.
        Acd = 1 => "ACD",
        /// Busy.
        Busy = 2 => "Busy",
        /// No answer.
        NoAnswer = 3 => "NoAnswer",
        /// Rejected.
        Reject = 4 => "Reject",
        /// Routed.
        Route = 5 => "Route",
        /// Coverage.
        Coverage = 6 => "Coverage",
        /// Converse-on.
        ConverseOn = 7 => "ConverseOn",
        /// Forwarded.
        Forward = 8 => "Forward",
        /// Redirected.
        Redirect = 9 => "Redirect",
        /// Transferred.
        Transfer = 10 => "Transfer",
        /// Single-step transfer.
        OneStepTransfer = 11 => "1stepTransfer",
        /// Conference.
        Conference = 12 => "Conference",
        /// Answering machine detected.
        AmDetected = 13 => "AMdetected",
        /// Fax detected.
        FaxDetected = 14 => "FaxDetected",
        /// Special information tone detected.
        SitDetected = 15 => "SITdetected",
    }
}

code_enum! {
    /// The agent desktop SDK's `callType` (CTICloud catalog).
    pub enum SdkCallType {
        /// Inbound.
        Inbound = 1 => "inbound",
        /// Web call.
        Webcall = 2 => "webcall",
        /// Preview outbound.
        PreviewOutbound = 4 => "previewOutbound",
        /// Predictive outbound.
        PredictiveOutbound = 5 => "predictiveOutbound",
        /// Outbound.
        Outbound = 6 => "outbound",
        /// Internal.
        Internal = 9 => "internal",
        /// SIP inbound.
        SipInbound = 11 => "sipInbound",
    }
}

impl SdkCallType {
    /// Whether the agent placed this call (preview, predictive, manual outbound).
    pub const fn is_outbound(self) -> bool {
        matches!(self, Self::PreviewOutbound | Self::PredictiveOutbound | Self::Outbound)
    }
}

/// The unified agent status of PROTOCOLS.md, lowest priority first: the status of
/// an agent is its highest-priority ongoing activity.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum AgentStatus {
    /// Ready, no call.
    WaitForNextCall,
    /// Placing a call.
    CallDialing,
    /// A call is ringing at the agent.
    CallRinging,
    /// Not ready (with a reason code).
    NotReadyForNextCall,
    /// Wrap-up after a call.
    AfterCallWork,
    /// A call is held.
    CallOnHold,
    /// Connected on a call of unknown type.
    CallUnknown,
    /// Connected on a consultation.
    CallConsult,
    /// Connected on an internal call.
    CallInternal,
    /// Connected on an outbound call.
    CallOutbound,
    /// Connected on an inbound call.
    CallInbound,
    /// Logged out.
    LoggedOut,
}

impl AgentStatus {
    /// Every status, lowest priority first.
    pub const ALL: [AgentStatus; 12] = [
        Self::WaitForNextCall,
        Self::CallDialing,
        Self::CallRinging,
        Self::NotReadyForNextCall,
        Self::AfterCallWork,
        Self::CallOnHold,
        Self::CallUnknown,
        Self::CallConsult,
        Self::CallInternal,
        Self::CallOutbound,
        Self::CallInbound,
        Self::LoggedOut,
    ];

    /// The name used in outputs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::WaitForNextCall => "WaitForNextCall",
            Self::CallDialing => "CallDialing",
            Self::CallRinging => "CallRinging",
            Self::NotReadyForNextCall => "NotReadyForNextCall",
            Self::AfterCallWork => "AfterCallWork",
            Self::CallOnHold => "CallOnHold",
            Self::CallUnknown => "CallUnknown",
            Self::CallConsult => "CallConsult",
            Self::CallInternal => "CallInternal",
            Self::CallOutbound => "CallOutbound",
            Self::CallInbound => "CallInbound",
            Self::LoggedOut => "LoggedOut",
        }
    }

    /// The talk status of a connected call of this type.
    pub const fn connected(call_type: CallType) -> Self {
        match call_type {
            CallType::Inbound => Self::CallInbound,
            CallType::Outbound => Self::CallOutbound,
            CallType::Internal => Self::CallInternal,
            CallType::Consult => Self::CallConsult,
            _ => Self::CallUnknown,
        }
    }
}

impl std::fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
