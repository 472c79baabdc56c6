//! Shared corpus and baselines for the ctistream benches.
//!
//! [`genesys_corpus`] builds a deterministic stream of Voice Microservices
//! records shaped like the `voice-callthread` and `voice-agentstate` topics
//! (about 360 bytes each). [`serde_baseline`] is what a careful user would write
//! with serde_json: deserializing the same records into a borrowed struct.

#![deny(missing_docs)]

pub mod serde_baseline;

/// A tiny deterministic generator (xorshift), so every run benches the same bytes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number below `bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

const CALL_EVENTS: [&str; 8] = [
    "EventQueued",
    "EventRouteRequest",
    "EventRinging",
    "EventEstablished",
    "EventHeld",
    "EventRetrieved",
    "EventReleased",
    "EventAbandoned",
];
const AGENT_EVENTS: [&str; 3] = ["EventAgentReady", "EventAgentNotReady", "EventAgentLogin"];

/// `count` newline-terminated genesys records (`KEY<TAB>JSON` lines when
/// `keyed`), about 360 bytes each, mixing call and agent events 4:1.
pub fn genesys_corpus(count: usize, keyed: bool) -> Vec<u8> {
    let mut rng = Rng::new(0x5eed);
    let mut out = Vec::with_capacity(count * 400);
    for i in 0..count {
        let thread = rng.below(50_000);
        let agent = 1000 + rng.below(2000);
        let dn = 5000 + agent;
        let secs = 1_795_165_502 + i as u64 / 50;
        let millis = rng.below(1000);
        let seq = 100_000 + i;
        let record = if rng.below(5) == 0 {
            let name = AGENT_EVENTS[rng.below(3) as usize];
            let mode = ["ManualIn", "AuxWork", "AfterCallWork"][rng.below(3) as usize];
            if keyed {
                out.extend_from_slice(format!("t1:a{agent}\t").as_bytes());
            }
            format!(
                r#"{{"id":"{name}","time":"2026-11-20T09:{:02}:{:02}.{millis:03}Z","Server":1,"ThisDN":"{dn}","AgentID":"a{agent}","AgentWorkMode":"{mode}","ThisQueue":"Sales","Reasons":{{"ReasonCode":"Break"}},"Extensions":{{"site":"eu-1"}},"EventSequenceNumber":{seq},"ReferenceID":{i}}}"#,
                secs / 60 % 60,
                secs % 60,
            )
        } else {
            let name = CALL_EVENTS[rng.below(8) as usize];
            if keyed {
                out.extend_from_slice(format!("t1:ct-{thread}\t").as_bytes());
            }
            format!(
                r#"{{"id":"{name}","CallThreadID":"ct-{thread}","ConnID":"006c0246{thread:08x}@sip-1","CallUUID":"05B9PTFV4D1EJ{thread:06}","ThisDN":"{dn}","ThisDNRole":"Destination","OtherDN":"+1415555{:04}","OtherDNRole":"Origination","AgentID":"a{agent}","CallType":"Inbound","CallState":"Ok","ANI":"+1415555{:04}","DNIS":"8005550100","time":"2026-11-20T09:{:02}:{:02}.{millis:03}Z","EventSequenceNumber":{seq}}}"#,
                thread % 10_000,
                thread % 10_000,
                secs / 60 % 60,
                secs % 60,
            )
        };
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
    }
    out
}

/// The payloads of a corpus (lines without their keys).
pub fn payloads(corpus: &[u8]) -> Vec<&[u8]> {
    corpus
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.iter().position(|&b| b == b'\t') {
            Some(tab) if line[0] != b'{' => &line[tab + 1..],
            _ => line,
        })
        .collect()
}

const ORS_NAMES: [&str; 6] = [
    "interaction.added",
    "interaction.partystatechanged",
    "interaction.redirect",
    "interaction.redirect.done",
    "error.voice.singlesteptransfer",
    "interaction.deleted",
];

/// `count` Orchestration Server records, one per line.
pub fn ors_corpus(count: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x0125);
    let mut out = Vec::with_capacity(count * 300);
    for i in 0..count {
        let ixn = rng.below(50_000);
        let name = ORS_NAMES[rng.below(6) as usize];
        let record = format!(
            r#"{{"name":"{name}","time":"2026-11-20T09:{:02}:{:02}.{:03}Z","tenant":"t1","data":{{"interactionid":"ixn-{ixn}","requestid":"req-{i}","partyid":"p-{ixn}","focusdeviceid":"{}","partystate":"Connected","hints":{{"ccevent":64,"cause":1,"callstate":0}},"udata":{{"Segment":"Gold"}}}}}}"#,
            i / 60 % 60,
            i % 60,
            rng.below(1000),
            5000 + rng.below(2000),
        );
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
    }
    out
}

const SDK_STATES: [&str; 6] = ["idle", "busy", "ringing", "talking", "wrapup", "calling"];

/// `count` agent desktop SDK records, one per line.
pub fn sdk_corpus(count: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x5d4);
    let mut out = Vec::with_capacity(count * 250);
    for _ in 0..count {
        let agent = 1000 + rng.below(2000);
        let record = if rng.below(3) == 0 {
            format!(
                r#"{{"eventType":"ringing","tenantId":"7000001","agentNo":"{agent}","mainUniqueId":"medias_1-{}.{}","callType":1,"customerNumber":"1380013{:04}","timestamp":{}}}"#,
                1_645_776_905 + rng.below(100_000),
                rng.below(100),
                rng.below(10_000),
                1_645_776_900_000 + rng.below(10_000_000),
            )
        } else {
            format!(
                r#"{{"eventType":"agentStatus","tenantId":"7000001","agentNo":"{agent}","state":"{}","stateAction":"online","deviceStatus":1,"pauseDescription":"Break","exten":"{agent}","timestamp":{}}}"#,
                SDK_STATES[rng.below(6) as usize],
                1_645_776_900_000 + rng.below(10_000_000),
            )
        };
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
    }
    out
}

/// `count` IVR Server messages, one per line.
pub fn ivr_corpus(count: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x1f2);
    let mut out = Vec::with_capacity(count * 120);
    for i in 0..count {
        let port = rng.below(500);
        let record = match rng.below(3) {
            0 => format!(
                r#"<GctiMsg><MonitorInfo ReqId="{i}"><Agent PortNum="{port}" Status="{}"/></MonitorInfo></GctiMsg>"#,
                ["Ready", "NotReady", "LoggedOut"][rng.below(3) as usize]
            ),
            1 => format!(
                r#"<MonitorInfo ReqId="{i}"><Port PortNum="{port}" Status="OK"/></MonitorInfo>"#
            ),
            _ => format!(
                r#"<GctiMsg><MonitorInfo><Server Name="ivr-{port}" Status="OK" Switch="SIP_Switch"/></MonitorInfo></GctiMsg>"#
            ),
        };
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
    }
    out
}

/// `count` T-Server log event records (each followed by a request line that
/// framing skips), in the multi-line log format.
pub fn tlog_corpus(count: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x7106);
    let mut out = Vec::with_capacity(count * 400);
    for i in 0..count {
        let conn = rng.below(1 << 40);
        let dn = 5000 + rng.below(2000);
        let name = CALL_EVENTS[rng.below(8) as usize];
        let record = format!(
            "@09:{:02}:{:02}.{:04} [0] 8.1.101.25 distribute_event: message {name}\n\
             \tAttributeEventSequenceNumber\t{:016x}\n\
             \tAttributeConnID\t{conn:016x}\n\
             \tAttributeCallUUID\t'05B9PTFV4D1EJ{:06}'\n\
             \tAttributeThisDN\t'{dn}'\n\
             \tAttributeThisDNRole\t2\n\
             \tAttributeOtherDN\t'+14155550123'\n\
             \tAttributeCallType\t2\n\
             \tAttributeCallState\t0\n\
             \tAttributeUserData\t[40] 00 02 00 00..\n\
             \t\t'Language'\t'en'\n\
             \t\t'Segment'\t'Gold'\n\
             @09:00:00.0000 Trc 04541 RequestAnswerCall received from [7] (00000010 Agent Desktop)\n",
            i / 60 % 60,
            i % 60,
            rng.below(10_000),
            100_000 + i,
            conn % 1_000_000,
        );
        out.extend_from_slice(record.as_bytes());
    }
    out
}

/// Coherent contact-center traffic as keyed Voice Microservices lines:
/// `agents` agents log in and become ready, then `calls` inbound calls each
/// queue, ring at an agent, get answered and are released (five events), in
/// time order — the shape `ctistream reduce` sees from the topics.
pub fn call_traffic(agents: usize, calls: usize) -> Vec<u8> {
    let mut rng = Rng::new(0xca11);
    let mut events: Vec<(u64, String)> = Vec::with_capacity(agents * 2 + calls * 5);
    let stamp = |ms: u64| {
        let secs = 1_795_165_200 + ms / 1000;
        format!(
            "2026-11-20T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60,
            ms % 1000
        )
    };
    for a in 0..agents {
        let (dn, queue) = (10_000 + a, a % 20);
        for (t, name) in [(a as u64, "EventAgentLogin"), (500 + a as u64, "EventAgentReady")] {
            events.push((
                t,
                format!(
                    "t1:a{a}\t{{\"id\":\"{name}\",\"ThisDN\":\"{dn}\",\"AgentID\":\"a{a}\",\"ThisQueue\":\"Q{queue}\",\"AgentWorkMode\":\"ManualIn\",\"time\":\"{}\"}}",
                    stamp(t)
                ),
            ));
        }
    }
    for c in 0..calls {
        let start = 10_000 + c as u64 * 50;
        let a = rng.below(agents as u64) as usize;
        let (dn, queue) = (10_000 + a, a % 20);
        let base = format!(
            "\"CallThreadID\":\"ct-{c}\",\"ConnID\":\"{c:016x}\",\"CallType\":\"Inbound\",\"ANI\":\"+1415555{:04}\",\"DNIS\":\"8005550100\"",
            c % 10_000
        );
        let steps = [
            (
                0,
                format!(
                    "\"id\":\"EventQueued\",\"ThisDN\":\"Q{queue}\",\"ThisQueue\":\"Q{queue}\""
                ),
            ),
            (
                3_000,
                format!(
                    "\"id\":\"EventRinging\",\"ThisDN\":\"{dn}\",\"ThisQueue\":\"Q{queue}\",\"AgentID\":\"a{a}\""
                ),
            ),
            (
                3_000,
                format!(
                    "\"id\":\"EventDiverted\",\"ThisDN\":\"Q{queue}\",\"ThisQueue\":\"Q{queue}\",\"ThirdPartyDN\":\"{dn}\""
                ),
            ),
            (
                6_000,
                format!("\"id\":\"EventEstablished\",\"ThisDN\":\"{dn}\",\"AgentID\":\"a{a}\""),
            ),
            (66_000, format!("\"id\":\"EventReleased\",\"ThisDN\":\"{dn}\",\"CallState\":\"Ok\"")),
        ];
        for (offset, fields) in steps {
            let t = start + offset;
            events.push((t, format!("t1:ct-{c}\t{{{fields},{base},\"time\":\"{}\"}}", stamp(t))));
        }
    }
    events.sort_by_key(|(t, _)| *t);
    let mut out = Vec::with_capacity(events.iter().map(|(_, line)| line.len() + 1).sum());
    for (_, line) in events {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}
