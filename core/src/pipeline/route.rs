//! Routing: which shard owns a record, read from the record key or, for
//! records without one, from a few identity attributes found without decoding.
//!
//! Every event of one call thread must reach one shard, in arrival order. A
//! keyed record (`TENANT:ID`, as on the Kafka topics) goes by its key. A
//! keyless one goes by the identity the call side would key it by
//! (CallThreadID, else CallUUID, else ConnID; ORS `interactionid`), and a
//! consultation leg follows its main call: the router remembers which shard
//! each ConnID and CallUUID went to, and an event whose own identity is new but
//! whose PreviousConnID / TransferConnID / ConferenceConnID is known goes
//! there. Agent events may go anywhere (the agent side sees every shard's
//! messages in record order); they go by agent so duplicates meet.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use memchr::{memchr, memmem};
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::sync::LazyLock;

use crate::event::{Category, Dialect, TEvent};

/// The router's memory of identity → shard, bounded: the oldest identities are
/// forgotten first.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct LinkMap {
    shard_of: FxHashMap<u64, u32>,
    order: VecDeque<u64>,
    cap: usize,
}

impl LinkMap {
    fn get(&self, identity: u64) -> Option<u32> {
        self.shard_of.get(&identity).copied()
    }

    fn insert_absent(&mut self, identity: u64, shard: u32) {
        if !self.shard_of.contains_key(&identity) {
            self.insert(identity, shard);
        }
    }

    fn insert(&mut self, identity: u64, shard: u32) {
        if self.shard_of.insert(identity, shard).is_none() {
            self.order.push_back(identity);
            if self.order.len() > self.cap {
                if let Some(oldest) = self.order.pop_front() {
                    self.shard_of.remove(&oldest);
                }
            }
        }
    }
}

/// Decides the shard of each record.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Router {
    shards: u32,
    links: LinkMap,
    /// Keyed records sent to a shard other than their key's hash says: the
    /// calls open when a saved state changed its shard count stay where they
    /// were put ([`Router::pin`]). Key hash → shard.
    #[serde(default)]
    pinned: FxHashMap<u64, u32>,
}

fn hash(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

/// The identities of a keyless record that routing uses.
#[derive(Debug, Default)]
struct Identity<'a> {
    /// What the call side keys it by, if it is a call-like record.
    primary: Option<&'a [u8]>,
    /// Other identities of the same call (ConnID, CallUUID).
    own: [Option<&'a [u8]>; 2],
    /// Links to another call (PreviousConnID, TransferConnID, ConferenceConnID).
    links: [Option<&'a [u8]>; 3],
    /// The agent, for agent records.
    agent: Option<&'a [u8]>,
}

impl Router {
    /// A router over `shards` shards remembering up to `links` call identities.
    pub fn new(shards: usize, links: usize) -> Router {
        Router {
            shards: shards.max(1) as u32,
            links: LinkMap {
                shard_of: FxHashMap::default(),
                order: VecDeque::new(),
                cap: links.max(1),
            },
            pinned: FxHashMap::default(),
        }
    }

    /// A router over `shards` shards remembering as many identities as this
    /// one, and nothing else yet.
    pub(crate) fn empty_like(&self, shards: usize) -> Router {
        Router::new(shards, self.links.cap)
    }

    /// The shard a keyed record `TENANT:KEY` would go to.
    pub(crate) fn keyed_shard(&self, tenant: &[u8], key: &[u8]) -> u32 {
        (hash(&[tenant, b":", key].concat()) % u64::from(self.shards)) as u32
    }

    /// Sends every later record of a call (of `tenant`, answering to `keys`)
    /// to `shard`: keyless ones through the identity map, keyed ones (keys
    /// `TENANT:ID` or `ID`) by their key. For the calls open when a saved
    /// state changes its shard count.
    pub(crate) fn pin<'k>(
        &mut self,
        tenant: &[u8],
        keys: impl Iterator<Item = &'k [u8]>,
        shard: u32,
    ) {
        for key in keys {
            self.links.insert(hash(key), shard);
            for record_key in [[tenant, b":", key].concat(), key.to_vec()] {
                let hashed = hash(&record_key);
                if hashed % u64::from(self.shards) != u64::from(shard) {
                    self.pinned.insert(hashed, shard);
                }
            }
        }
    }

    /// Where a record goes: one shard, or every shard for T-Library agent
    /// and DN events (every shard keeps the DN bindings) and link losses.
    pub fn route(&mut self, payload: &[u8], key: Option<&[u8]>, dialect: Option<Dialect>) -> Route {
        if self.shards == 1 {
            return Route::One(0);
        }
        let dialect = dialect.unwrap_or_else(|| sniff(payload));
        if is_broadcast(payload, dialect) {
            return Route::All;
        }
        Route::One(self.shard(payload, key, Some(dialect)))
    }

    /// The shard of a record of `dialect` (`None`: detect it).
    pub fn shard(&mut self, payload: &[u8], key: Option<&[u8]>, dialect: Option<Dialect>) -> usize {
        if self.shards == 1 {
            return 0;
        }
        if let Some(key) = key.filter(|key| !key.is_empty()) {
            let hashed = hash(key);
            if !self.pinned.is_empty() {
                if let Some(&shard) = self.pinned.get(&hashed) {
                    return shard as usize;
                }
            }
            return (hashed % u64::from(self.shards)) as usize;
        }
        let dialect = dialect.unwrap_or_else(|| sniff(payload));
        let identity = match dialect {
            Dialect::Tlog => tlog_identity(payload),
            Dialect::Genesys => genesys_identity(payload),
            Dialect::Ors => Identity {
                primary: json_field(payload, b"\"tointeractionid\"")
                    .or_else(|| json_field(payload, b"\"interactionid\"")),
                ..Identity::default()
            },
            Dialect::Sdk | Dialect::Ivr => Identity::default(),
        };
        let Some(primary) = identity.primary else {
            let agent = identity.agent.unwrap_or(payload);
            return (hash(agent) % u64::from(self.shards)) as usize;
        };
        let known = [Some(primary)]
            .iter()
            .chain(identity.own.iter())
            .chain(identity.links.iter())
            .flatten()
            .find_map(|id| self.links.get(hash(id)));
        let shard = known.unwrap_or((hash(primary) % u64::from(self.shards)) as u32);
        // Every identity of the record now leads here, unless it already
        // leads elsewhere: the call side's alias index never moves an alias
        // of a live thread, so an identity that already names a shard keeps
        // it (moving it sent a later record to the wrong shard). Links count
        // too: the call side makes them aliases of the thread, so a call first
        // seen as another leg's link (its consult leg arrived first) joins
        // that thread (both found by `sharded_equals_reference`).
        let identities = [Some(primary)].into_iter().chain(identity.own).chain(identity.links);
        for id in identities.flatten() {
            self.links.insert_absent(hash(id), shard);
        }
        shard as usize
    }
}

/// Where a record goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// To this shard.
    One(usize),
    /// To every shard.
    All,
}

/// Whether a record is a T-Library agent or DN event, or a link loss: read
/// from its event name without decoding (`"id":"Event…"`, `message Event…`).
fn is_broadcast(payload: &[u8], dialect: Dialect) -> bool {
    let name = match dialect {
        Dialect::Genesys => match json_field(payload, b"\"id\"") {
            Some(name) => name,
            None => return false,
        },
        Dialect::Tlog => {
            let line = payload.split(|&b| b == b'\n').next().unwrap_or_default();
            match memmem::find(line, b"message ") {
                Some(at) => {
                    let rest = &line[at + 8..];
                    let end =
                        rest.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(rest.len());
                    &rest[..end]
                }
                None => return false,
            }
        }
        _ => return false,
    };
    let event = match std::str::from_utf8(name).ok().and_then(|n| n.parse::<i64>().ok()) {
        Some(code) => TEvent::from_code(code),
        None => match TEvent::from_name(name) {
            Some(event) => event,
            None => return false,
        },
    };
    matches!(event.category(), Category::Agent | Category::Dn) || event == TEvent::LinkDisconnected
}

/// Searchers built once: `memmem::find` builds one per call, which cost more
/// than the search on every record of an `auto` input.
static EVENT_TYPE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"eventType\""));
static ID: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"id\""));

/// The dialect of a record, by its first bytes (cheap; the shard decodes fully).
fn sniff(payload: &[u8]) -> Dialect {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        Some(b'<') => Dialect::Ivr,
        Some(b'{') if EVENT_TYPE.find(payload).is_some() => Dialect::Sdk,
        Some(b'{') if ID.find(payload).is_some() => Dialect::Genesys,
        Some(b'{') => Dialect::Ors,
        _ => Dialect::Tlog,
    }
}

/// The value of a top-level-looking JSON member `"name"`: a string without
/// escapes, or a bare token. Routing only; the decoder validates.
fn json_field<'a>(payload: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    // The usual place of a record's first member: no search needed.
    let at = if payload.get(1..1 + name.len()) == Some(name) {
        1 + name.len()
    } else {
        memmem::find(payload, name)? + name.len()
    };
    let rest = &payload[at..];
    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    member_value(&rest[colon + 1..])
}

/// The routing fields of a Voice Microservices record, in one pass over its
/// member names (searching for each name separately cost more than the rest
/// of routing: a searcher is built per search). Values with escapes are left
/// out; routing only, the decoder validates.
fn genesys_identity(payload: &[u8]) -> Identity<'_> {
    let (mut thread, mut uuid, mut conn, mut agent, mut dn) = (None, None, None, None, None);
    let mut links = [None; 3];
    let mut at = 0;
    while let Some(open) = memchr(b'"', &payload[at..]) {
        let name_start = at + open + 1;
        let Some(close) = memchr(b'"', &payload[name_start..]) else { break };
        let name = &payload[name_start..name_start + close];
        at = name_start + close + 1;
        let rest = &payload[at..];
        let Some(colon) = rest.iter().position(|b| !b.is_ascii_whitespace()) else { break };
        if rest[colon] != b':' {
            continue;
        }
        let value_at = at + colon + 1;
        let value = member_value(&payload[value_at..]);
        let slot = match name {
            b"CallThreadID" => &mut thread,
            b"CallUUID" => &mut uuid,
            b"ConnID" => &mut conn,
            b"PreviousConnID" => &mut links[0],
            b"TransferConnID" => &mut links[1],
            b"ConferenceConnID" => &mut links[2],
            b"AgentID" => &mut agent,
            b"ThisDN" => &mut dn,
            _ => {
                // Step over a string value so its text is not read as a name.
                at = skip_string(payload, value_at);
                continue;
            }
        };
        if slot.is_none() {
            *slot = value;
        }
        at = skip_string(payload, value_at);
    }
    Identity { primary: thread.or(uuid).or(conn), own: [uuid, conn], links, agent: agent.or(dn) }
}

/// A member's value at the start of `rest` (after the colon): a string
/// without escapes, or a bare token.
fn member_value(rest: &[u8]) -> Option<&[u8]> {
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &rest[start..];
    if rest.first() == Some(&b'"') {
        let end = memchr(b'"', &rest[1..])?;
        let value = &rest[1..1 + end];
        return (!value.contains(&b'\\') && !value.is_empty()).then_some(value);
    }
    let end = rest.iter().position(|b| matches!(b, b',' | b'}' | b' ')).unwrap_or(rest.len());
    (end > 0).then_some(&rest[..end])
}

/// Where scanning resumes after the value starting at `from`: past its closing
/// quote if it is a string (escaped quotes skipped), else at `from`.
fn skip_string(payload: &[u8], from: usize) -> usize {
    let Some(start) = payload[from..].iter().position(|b| !b.is_ascii_whitespace()) else {
        return payload.len();
    };
    let mut at = from + start;
    if payload[at] != b'"' {
        return at;
    }
    at += 1;
    while let Some(quote) = memchr(b'"', &payload[at..]) {
        let end = at + quote;
        let backslashes = payload[..end].iter().rev().take_while(|&&b| b == b'\\').count();
        at = end + 1;
        if backslashes % 2 == 0 {
            return at;
        }
    }
    payload.len()
}

/// The value of `\tAttribute<name>` lines (first indentation level only).
fn tlog_identity(payload: &[u8]) -> Identity<'_> {
    let mut identity = Identity::default();
    let (mut uuid, mut conn) = (None, None);
    for line in payload.split(|&b| b == b'\n') {
        let Some(attribute) = line.strip_prefix(b"\tAttribute") else { continue };
        let Some(tab) = attribute.iter().position(|&b| b == b'\t' || b == b' ') else { continue };
        let (name, value) = (&attribute[..tab], attribute[tab..].trim_ascii());
        let value = value.strip_prefix(b"'").and_then(|v| v.strip_suffix(b"'")).unwrap_or(value);
        if value.is_empty() {
            continue;
        }
        match name {
            b"CallUUID" => uuid = Some(value),
            b"ConnID" => conn = Some(value),
            b"PreviousConnID" => identity.links[0] = Some(value),
            b"TransferConnID" => identity.links[1] = Some(value),
            b"ConferenceConnID" => identity.links[2] = Some(value),
            b"AgentID" => identity.agent = Some(value),
            b"ThisDN" if identity.agent.is_none() => identity.agent = Some(value),
            _ => {}
        }
    }
    identity.primary = uuid.or(conn);
    identity.own = [uuid, conn];
    identity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consult_legs_follow_their_main_call() {
        let mut router = Router::new(8, 1000);
        let main = router.shard(
            br#"{"id":"EventEstablished","ConnID":"c1","CallUUID":"u1","ThisDN":"5001"}"#,
            None,
            None,
        );
        for _ in 0..20 {
            let consult = router.shard(
                br#"{"id":"EventDialing","ConnID":"c2","PreviousConnID":"c1","CallUUID":"u2"}"#,
                None,
                None,
            );
            assert_eq!(consult, main);
        }
        let later = router.shard(br#"{"id":"EventReleased","ConnID":"c2"}"#, None, None);
        assert_eq!(later, main, "the consult's own ConnID is remembered");
        let log =
            b"@1 message EventRinging\n\tAttributeConnID\tc3\n\tAttributePreviousConnID\tc1\n";
        assert_eq!(router.shard(log, None, Some(Dialect::Tlog)), main);
    }

    #[test]
    fn json_fields_are_read_without_decoding() {
        let record = br#"{ "id" : "EventRinging", "CallThreadID" : "ct-9", "CallID": 16 }"#;
        assert_eq!(json_field(record, b"\"CallThreadID\""), Some(&b"ct-9"[..]));
        assert_eq!(json_field(record, b"\"CallID\""), Some(&b"16"[..]));
        assert_eq!(json_field(br#"{"ConnID":"a\"b"}"#, b"\"ConnID\""), None);
        // One pass over the names: values that look like names are skipped,
        // escaped quotes do not end a value, the first occurrence wins.
        let record = br#"{"id":"EventRinging","Note":"\"ConnID\":\"x\"","ThisDN":"5001","ConnID":"c1","CallUUID":"u1","PreviousConnID":"p0","ConnID":"c2"}"#;
        let identity = genesys_identity(record);
        assert_eq!(identity.primary, Some(&b"u1"[..]));
        assert_eq!(identity.own, [Some(&b"u1"[..]), Some(&b"c1"[..])]);
        assert_eq!(identity.links, [Some(&b"p0"[..]), None, None]);
        assert_eq!(identity.agent, Some(&b"5001"[..]));
    }
}
