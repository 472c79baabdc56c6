//! What an event is: its dialect, its kind within the dialect, and the routing
//! category that decides whether it is keyed by call thread or by agent.

use super::code_enum::{code_enum, name_enum};

/// The input dialects of PROTOCOLS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    /// Genesys Voice Microservices JSON (`voice-callthread`, `voice-agentstate`).
    Genesys,
    /// T-Server log text.
    Tlog,
    /// Orchestration Server interaction events (JSON).
    Ors,
    /// Agent desktop SDK events (JSON).
    Sdk,
    /// IVR Server XML messages.
    Ivr,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Dialect; 5] =
        [Dialect::Genesys, Dialect::Tlog, Dialect::Ors, Dialect::Sdk, Dialect::Ivr];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::Genesys => "genesys",
            Dialect::Tlog => "tlog",
            Dialect::Ors => "ors",
            Dialect::Sdk => "sdk",
            Dialect::Ivr => "ivr",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How an event is routed and which reducer owns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// About a call: keyed by call thread.
    Call,
    /// About an agent's state: keyed by agent.
    Agent,
    /// About a DN's device state (DND, forward, hook, mute, service): keyed by agent.
    Dn,
    /// About the connection to a server (link, registration, errors).
    Session,
    /// An orchestration interaction event or action result: keyed by interaction.
    Interaction,
}

code_enum! {
    /// A T-Library event (`TMessageType`, DOMAIN.md 1.5), as carried by the
    /// `genesys` and `tlog` dialects. The code is the T-Library message id.
    pub enum TEvent {
        /// Synthetic: the client connected to the server.
        ServerConnected = 50 => "EventServerConnected",
        /// Synthetic: the client lost the server.
        ServerDisconnected = 51 => "EventServerDisconnected",
        /// A request failed.
        Error = 52 => "EventError",
        /// A DN was registered (a DN snapshot may follow in Extensions).
        Registered = 53 => "EventRegistered",
        /// A DN was unregistered.
        Unregistered = 54 => "EventUnregistered",
        /// A call entered a queue, routing point or virtual queue.
        Queued = 57 => "EventQueued",
        /// A call left a queue or routing point towards a destination.
        Diverted = 58 => "EventDiverted",
        /// The caller hung up before answer.
        Abandoned = 59 => "EventAbandoned",
        /// A call is ringing at a DN.
        Ringing = 60 => "EventRinging",
        /// A DN is placing a call.
        Dialing = 61 => "EventDialing",
        /// An outbound call left the switch.
        NetworkReached = 62 => "EventNetworkReached",
        /// The destination was busy.
        DestinationBusy = 63 => "EventDestinationBusy",
        /// A call was answered at a DN.
        Established = 64 => "EventEstablished",
        /// A party left the call.
        Released = 65 => "EventReleased",
        /// A call was put on hold.
        Held = 66 => "EventHeld",
        /// A held call was retrieved.
        Retrieved = 67 => "EventRetrieved",
        /// A party of the call was replaced (transfer completion).
        PartyChanged = 68 => "EventPartyChanged",
        /// A party joined (conference).
        PartyAdded = 69 => "EventPartyAdded",
        /// A party left a conference.
        PartyDeleted = 70 => "EventPartyDeleted",
        /// A call waits at a routing point for a route.
        RouteRequest = 71 => "EventRouteRequest",
        /// A call was routed from a routing point.
        RouteUsed = 72 => "EventRouteUsed",
        /// An agent logged in.
        AgentLogin = 73 => "EventAgentLogin",
        /// An agent logged out.
        AgentLogout = 74 => "EventAgentLogout",
        /// An agent became ready.
        AgentReady = 75 => "EventAgentReady",
        /// An agent became not ready.
        AgentNotReady = 76 => "EventAgentNotReady",
        /// Do-not-disturb on.
        DndOn = 77 => "EventDNDOn",
        /// Do-not-disturb off.
        DndOff = 78 => "EventDNDOff",
        /// A listen leg disconnected.
        ListenDisconnected = 79 => "EventListenDisconnected",
        /// A listen leg reconnected.
        ListenReconnected = 80 => "EventListenReconnected",
        /// Message waiting on.
        MessageWaitingOn = 83 => "EventMessageWaitingOn",
        /// Message waiting off.
        MessageWaitingOff = 84 => "EventMessageWaitingOff",
        /// The call's user data changed.
        AttachedDataChanged = 85 => "EventAttachedDataChanged",
        /// The handset went off hook.
        OffHook = 86 => "EventOffHook",
        /// The handset went on hook.
        OnHook = 87 => "EventOnHook",
        /// Call forwarding set.
        ForwardSet = 88 => "EventForwardSet",
        /// Call forwarding cancelled.
        ForwardCancel = 89 => "EventForwardCancel",
        /// An answer to an address query.
        AddressInfo = 92 => "EventAddressInfo",
        /// An answer to a server query.
        ServerInfo = 93 => "EventServerInfo",
        /// The T-Server lost its CTI link to the switch.
        LinkDisconnected = 94 => "EventLinkDisconnected",
        /// The T-Server regained its CTI link.
        LinkConnected = 95 => "EventLinkConnected",
        /// A user event.
        UserEvent = 96 => "EventUserEvent",
        /// Call information changed.
        CallInfoChanged = 112 => "EventCallInfoChanged",
        /// A treatment was applied.
        TreatmentApplied = 114 => "EventTreatmentApplied",
        /// A treatment could not be applied.
        TreatmentNotApplied = 115 => "EventTreatmentNotApplied",
        /// A treatment ended.
        TreatmentEnd = 116 => "EventTreatmentEnd",
        /// An agent entered after call work.
        AgentAfterCallWork = 118 => "EventAgentAfterCallWork",
        /// A treatment is required.
        TreatmentRequired = 119 => "EventTreatmentRequired",
        /// A request was acknowledged.
        Ack = 138 => "EventACK",
        /// Monitoring of the next call started.
        MonitoringNextCall = 141 => "EventMonitoringNextCall",
        /// Monitoring of the next call was cancelled.
        MonitoringCancelled = 142 => "EventMonitoringCancelled",
        /// Mute on.
        MuteOn = 145 => "EventMuteOn",
        /// Mute off.
        MuteOff = 146 => "EventMuteOff",
        /// The DN went out of service.
        DnOutOfService = 147 => "EventDNOutOfService",
        /// The DN is back in service.
        DnBackInService = 148 => "EventDNBackInService",
        /// A switch-specific private event.
        PrivateInfo = 150 => "EventPrivateInfo",
        /// A call was bridged.
        Bridged = 151 => "EventBridged",
        /// An agent left one of several queues.
        QueueLogout = 152 => "EventQueueLogout",
        /// Call-based: a call was created.
        CallCreated = 160 => "EventCallCreated",
        /// Call-based: call data changed.
        CallDataChanged = 161 => "EventCallDataChanged",
        /// Call-based: a call was deleted.
        CallDeleted = 162 => "EventCallDeleted",
        /// Call-based: a party was added.
        CallPartyAdded = 163 => "EventCallPartyAdded",
        /// Call-based: a party changed state.
        CallPartyState = 164 => "EventCallPartyState",
        /// Call-based: a party moved.
        CallPartyMoved = 165 => "EventCallPartyMoved",
        /// Call-based: a party was deleted.
        CallPartyDeleted = 166 => "EventCallPartyDeleted",
    }
}

impl TEvent {
    /// The routing category of this event.
    pub const fn category(self) -> Category {
        use TEvent::*;
        match self {
            AgentLogin | AgentLogout | AgentReady | AgentNotReady | AgentAfterCallWork
            | QueueLogout => Category::Agent,
            DndOn | DndOff | OffHook | OnHook | ForwardSet | ForwardCancel | MuteOn | MuteOff
            | DnOutOfService | DnBackInService | MessageWaitingOn | MessageWaitingOff
            | MonitoringNextCall | MonitoringCancelled => Category::Dn,
            ServerConnected | ServerDisconnected | Error | Registered | Unregistered
            | AddressInfo | ServerInfo | LinkDisconnected | LinkConnected | Ack | PrivateInfo
            | UserEvent | Other(_) => Category::Session,
            _ => Category::Call,
        }
    }
}

/// The namespace of an orchestration action (`<ns>.<action>.done`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OrsNamespace {
    /// `interaction.*` actions.
    Interaction,
    /// `voice.*` actions.
    Voice,
    /// `msgbased.*` actions.
    MsgBased,
    /// `chat.*` actions.
    Chat,
}

impl OrsNamespace {
    /// Every namespace.
    pub const ALL: [OrsNamespace; 4] = [Self::Interaction, Self::Voice, Self::MsgBased, Self::Chat];

    /// The namespace as written in event names.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Interaction => "interaction",
            Self::Voice => "voice",
            Self::MsgBased => "msgbased",
            Self::Chat => "chat",
        }
    }

    /// The namespace written `name`, if any.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|ns| ns.name().as_bytes() == name)
    }
}

/// An Orchestration Server event: an interaction lifecycle event, an action
/// result (`.done` / `error.`), or an action request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrsEvent {
    /// `interaction.added`
    Added,
    /// `interaction.deleted`
    Deleted,
    /// `interaction.present`
    Present,
    /// `interaction.notcontrolled` (carries `resultof`)
    NotControlled,
    /// `interaction.partyadded`
    PartyAdded,
    /// `interaction.partydeleted`
    PartyDeleted,
    /// `interaction.partystatechanged`
    PartyStateChanged,
    /// `interaction.udata.changed`
    UdataChanged,
    /// `interaction.ondivert`
    OnDivert,
    /// `interaction.onrouterequest`
    OnRouteRequest,
    /// `interaction.onsinglesteptransfer`
    OnSingleStepTransfer,
    /// `interaction.onsinglestepconference`
    OnSingleStepConference,
    /// `interaction.onmerge`
    OnMerge,
    /// `interaction.property.changed`
    PropertyChanged,
    /// `<ns>.<action>.done`: the action succeeded.
    Done(OrsNamespace),
    /// `error.<ns>.<action>`: the action failed.
    Failed(OrsNamespace),
    /// `<ns>.<action>`: the action was requested.
    Request(OrsNamespace),
}

impl OrsEvent {
    /// The interaction lifecycle events and their names, in catalog order.
    pub const INTERACTION_EVENTS: [(OrsEvent, &'static str); 14] = [
        (Self::Added, "interaction.added"),
        (Self::Deleted, "interaction.deleted"),
        (Self::Present, "interaction.present"),
        (Self::NotControlled, "interaction.notcontrolled"),
        (Self::PartyAdded, "interaction.partyadded"),
        (Self::PartyDeleted, "interaction.partydeleted"),
        (Self::PartyStateChanged, "interaction.partystatechanged"),
        (Self::UdataChanged, "interaction.udata.changed"),
        (Self::OnDivert, "interaction.ondivert"),
        (Self::OnRouteRequest, "interaction.onrouterequest"),
        (Self::OnSingleStepTransfer, "interaction.onsinglesteptransfer"),
        (Self::OnSingleStepConference, "interaction.onsinglestepconference"),
        (Self::OnMerge, "interaction.onmerge"),
        (Self::PropertyChanged, "interaction.property.changed"),
    ];

    /// A short name for reports: the catalog name for lifecycle events,
    /// `<ns>.*.done`, `error.<ns>.*` or `<ns>.* request` otherwise.
    pub fn name(self) -> &'static str {
        match self {
            Self::Done(ns) => {
                ["interaction.*.done", "voice.*.done", "msgbased.*.done", "chat.*.done"]
                    [ns as usize]
            }
            Self::Failed(ns) => {
                ["error.interaction.*", "error.voice.*", "error.msgbased.*", "error.chat.*"]
                    [ns as usize]
            }
            Self::Request(ns) => {
                ["interaction.* request", "voice.* request", "msgbased.* request", "chat.* request"]
                    [ns as usize]
            }
            lifecycle => Self::INTERACTION_EVENTS
                .iter()
                .find(|(event, _)| *event == lifecycle)
                .map_or("interaction.?", |(_, name)| name),
        }
    }
}

name_enum! {
    /// An agent desktop SDK `eventType` (the 40 of the CTICloud catalog).
    pub enum SdkEvent {
        /// Agent state changed.
        AgentStatus => "agentStatus",
        /// SDK session started.
        SessionInit => "sessionInit",
        /// SDK session ended.
        SessionTerminate => "sessionTerminate",
        /// SIP session started.
        SipSessionInit => "sipSessionInit",
        /// SIP session ended.
        SipSessionTerminate => "sipSessionTerminate",
        /// SIP connection lost.
        SipDisconnected => "sipDisconnected",
        /// Reconnecting.
        ReconnectAttempt => "reconnectAttempt",
        /// Preview outbound call started.
        PreviewObCallStart => "previewObCallStart",
        /// Preview outbound call ringing.
        PreviewObCallRinging => "previewObCallRinging",
        /// Preview outbound call bridged.
        PreviewObCallBridge => "previewObCallBridge",
        /// Preview outbound call result.
        PreviewObCallResult => "previewObCallResult",
        /// An inbound call rings.
        Ringing => "ringing",
        /// Attended transfer started.
        AtxferStart => "atxferStart",
        /// Attended transfer linked.
        AtxferLink => "atxferLink",
        /// Attended transfer ended.
        AtxferEnded => "atxferEnded",
        /// Attended transfer failed.
        AtxferError => "atxferError",
        /// Three-way from attended transfer result.
        ThreewayAtxferResult => "threewayAtxferResult",
        /// Three-way from attended transfer unlinked.
        AtxferThreewayUnlink => "atxferThreewayUnlink",
        /// Attended transfer completed.
        CompleteAtxferResult => "completeAtxferResult",
        /// Spy result.
        SpyResult => "spyResult",
        /// Spy linked.
        SpyLink => "spyLink",
        /// Spy unlinked.
        SpyUnlink => "spyUnlink",
        /// Three-way result.
        ThreewayResult => "threewayResult",
        /// Three-way linked.
        ThreewayLink => "threewayLink",
        /// Three-way unlinked.
        ThreewayUnlink => "threewayUnlink",
        /// Whisper result.
        WhisperResult => "whisperResult",
        /// Whisper linked.
        WhisperLink => "whisperLink",
        /// Whisper unlinked.
        WhisperUnlink => "whisperUnlink",
        /// Barge result.
        BargeResult => "bargeResult",
        /// Barge linked.
        BargeLink => "bargeLink",
        /// Barge unlinked.
        BargeUnlink => "bargeUnlink",
        /// Disconnect result.
        DisconnectResult => "disconnectResult",
        /// Set-offline result.
        SetOfflineResult => "setOfflineResult",
        /// Queue status.
        QueueStatus => "queueStatus",
        /// Extension state.
        ExtenState => "extenState",
        /// Interaction return.
        InteractReturn => "interactReturn",
        /// Transcript.
        Transcript => "transcript",
        /// Call-back order.
        OrderCallBack => "orderCallBack",
        /// Keep-alive.
        Ping => "ping",
        /// WebRTC statistics.
        WebrtcStats => "webrtcStats",
    }
}

name_enum! {
    /// An SDK agent state (the `state` of `agentStatus`).
    pub enum SdkAgentState {
        /// Offline.
        Offline => "offline",
        /// Invalid (treated as offline).
        Invalid => "invalid",
        /// Idle: ready for the next call.
        Idle => "idle",
        /// Busy: not ready.
        Busy => "busy",
        /// Wrap-up after a call.
        Wrapup => "wrapup",
        /// Placing a call.
        Calling => "calling",
        /// A call rings.
        Ringing => "ringing",
        /// On a call.
        Talking => "talking",
    }
}

/// An IVR Server message (PROTOCOLS.md `ivr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IvrMessage {
    /// `LoginResp`: the answer to the IVR client's login.
    LoginResp,
    /// `MonitorInfo` with a `Server` child: server link status.
    ServerStatus,
    /// `MonitorInfo` with a `Port` child: port status.
    PortStatus,
    /// `MonitorInfo` with an `Agent` child: the agent status on a port.
    AgentStatus,
}

impl IvrMessage {
    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LoginResp => "LoginResp",
            Self::ServerStatus => "MonitorInfo/Server",
            Self::PortStatus => "MonitorInfo/Port",
            Self::AgentStatus => "MonitorInfo/Agent",
        }
    }
}

name_enum! {
    /// The `Status` or `Result` value of an IVR Server message.
    pub enum IvrStatus {
        /// Healthy.
        Ok => "OK",
        /// Unavailable.
        Unavailable => "Unavailable",
        /// Login accepted.
        Success => "Success",
        /// Login refused: protocol version.
        InvalidProtocolVersion => "InvalidProtocolVersion",
        /// Login refused: unknown client.
        NoSuchClient => "NoSuchClient",
        /// The server is still initialising.
        InitInProgress => "InitInProgress",
        /// Agent logged in (transient: Ready or NotReady follows).
        LoggedIn => "LoggedIn",
        /// Agent logged out.
        LoggedOut => "LoggedOut",
        /// Agent ready.
        Ready => "Ready",
        /// Agent not ready.
        NotReady => "NotReady",
        /// Agent status unknown (counts as logged out).
        Unknown => "Unknown",
    }
}

/// What an event is, across all dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A T-Library event (`genesys`, `tlog`).
    TLib(TEvent),
    /// An Orchestration Server event (`ors`).
    Ors(OrsEvent),
    /// An agent desktop SDK event (`sdk`).
    Sdk(SdkEvent),
    /// An IVR Server message (`ivr`).
    Ivr(IvrMessage),
}

impl EventKind {
    /// The routing category.
    pub fn category(self) -> Category {
        match self {
            EventKind::TLib(event) => event.category(),
            EventKind::Ors(_) => Category::Interaction,
            EventKind::Sdk(event) => match event {
                SdkEvent::AgentStatus | SdkEvent::ExtenState | SdkEvent::SetOfflineResult => {
                    Category::Agent
                }
                SdkEvent::SessionInit
                | SdkEvent::SessionTerminate
                | SdkEvent::SipSessionInit
                | SdkEvent::SipSessionTerminate
                | SdkEvent::SipDisconnected
                | SdkEvent::ReconnectAttempt
                | SdkEvent::Ping
                | SdkEvent::WebrtcStats
                | SdkEvent::QueueStatus
                | SdkEvent::Other => Category::Session,
                _ => Category::Call,
            },
            EventKind::Ivr(message) => match message {
                IvrMessage::AgentStatus => Category::Agent,
                _ => Category::Session,
            },
        }
    }

    /// Whether this event is keyed by agent (agent state and DN events).
    pub fn is_agent_event(self) -> bool {
        matches!(self.category(), Category::Agent | Category::Dn)
    }

    /// A name for reports (`EventRinging`, `interaction.added`, `agentStatus`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::TLib(TEvent::Other(_)) => "EventOther",
            EventKind::TLib(event) => event.name(),
            EventKind::Ors(event) => event.name(),
            EventKind::Sdk(event) => event.name(),
            EventKind::Ivr(message) => message.name(),
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
