//! The `ors` dialect: Orchestration Server interaction events (PROTOCOLS.md
//! `ors`), one JSON object per record:
//!
//! ```text
//! {"name":"interaction.partyadded","time":"2026-11-20T09:15:02.125Z","tenant":"t1",
//!  "data":{"interactionid":"ixn-1","partyid":"p-2","hints":{"ccevent":"EventRinging"}}}
//! ```
//!
//! - `name` is an interaction lifecycle event (`interaction.added`, …), an
//!   action result (`<ns>.<action>.done`, `error.<ns>.<action>`) or an action
//!   request (`<ns>.<action>`), for `ns` in interaction, voice, msgbased, chat.
//!   The action name is indexed as [`Attr::Action`].
//! - `time` is RFC 3339 text or an integer of epoch **milliseconds** (what
//!   Orchestration's JavaScript clock gives, unlike the microseconds of the
//!   `genesys` dialect).
//! - `data` holds the attributes; `data.hints` the T-Library facts behind the
//!   event (`ccevent`, `cause`, `callstate`), names or integer codes.
//!
//! Members come in any order (`data` may precede `name`): the top level is
//! walked first, then `data`, then `data.hints`, each from its validated span.

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{
    Attr, Dialect, Event, EventKind, EventMeta, OrsEvent, OrsNamespace, Span, TEvent, Timestamp,
    Value,
};

use super::json::{for_each_member, for_each_nested_member, unescape_json};
use super::{DecodeOptions, tlib};

/// The nesting depth of the members of `data` (the record's object is 1).
const DATA_DEPTH: u32 = 2;
/// The nesting depth of the members of `data.hints`.
const HINTS_DEPTH: u32 = 3;

/// Decodes one Orchestration Server JSON record.
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    let mut event = Event::start(payload, key, Dialect::Ors, EventKind::Ors(OrsEvent::Added));
    let meta = event.meta_mut();
    let mut name: Option<(OrsEvent, Option<Value>)> = None;
    let mut data: Option<Span> = None;
    for_each_member(payload, options.max_depth, |scanner, member| {
        let at = value_start(payload, scanner.pos());
        let value = scanner.value(1)?;
        let end = scanner.pos();
        match member {
            b"name" => name = Some(event_name(value, payload, at)?),
            b"time" => meta.time = Some(time(value, payload, at)?),
            b"tenant" => meta.set(Attr::Tenant, text_value(Attr::Tenant, value, at, end)?),
            b"data" => data = Some(object(value, payload, "data", at)?),
            _ => {}
        }
        Ok(())
    })?;
    let Some((name, action)) = name else {
        return Err(DecodeError::new(ErrorKind::MissingEventName, 0));
    };
    meta.kind = EventKind::Ors(name);
    if let Some(action) = action {
        meta.set(Attr::Action, action);
    }
    if let Some(data) = data {
        data_members(payload, data, options.max_depth, meta)?;
    }
    check(meta, payload, data)?;
    Ok(event)
}

/// Indexes the members of `data` and of `data.hints`.
fn data_members(
    payload: &[u8],
    data: Span,
    max_depth: u32,
    meta: &mut EventMeta,
) -> DecodeResult<()> {
    let mut hints = None;
    for_each_nested_member(payload, data, max_depth, |scanner, member| {
        let at = value_start(payload, scanner.pos());
        let value = scanner.value(DATA_DEPTH)?;
        let end = scanner.pos();
        let attr = match member {
            b"requestid" => Attr::RequestId,
            b"interactionid" => Attr::InteractionId,
            b"tointeractionid" => Attr::ToInteractionId,
            b"partyid" => Attr::PartyId,
            b"focusdeviceid" => Attr::FocusDeviceId,
            b"partystate" => Attr::PartyState,
            b"resultof" => Attr::ResultOf,
            b"error" => {
                meta.set(Attr::ErrorCode, tlib::normalize(Attr::ErrorCode, value, payload, at)?);
                return Ok(());
            }
            b"description" => {
                let value = tlib::normalize(Attr::ErrorMessage, value, payload, at)?;
                meta.set(Attr::ErrorMessage, value);
                return Ok(());
            }
            b"callstate" => {
                meta.set(Attr::CallState, tlib::normalize(Attr::CallState, value, payload, at)?);
                return Ok(());
            }
            b"hints" => {
                if value != Value::Null {
                    hints = Some(object(value, payload, "hints", at)?);
                    meta.set(Attr::Hints, value);
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        meta.set(attr, text_value(attr, value, at, end)?);
        Ok(())
    })?;
    let Some(hints) = hints else { return Ok(()) };
    let mut hint_call_state = None;
    for_each_nested_member(payload, hints, max_depth, |scanner, member| {
        let at = value_start(payload, scanner.pos());
        let value = scanner.value(HINTS_DEPTH)?;
        match member {
            b"ccevent" => meta.set(Attr::CcEvent, cc_event(value, payload, at)?),
            b"cause" => meta.set(Attr::Cause, tlib::normalize(Attr::Cause, value, payload, at)?),
            b"callstate" => {
                hint_call_state = Some(tlib::normalize(Attr::CallState, value, payload, at)?);
            }
            _ => {}
        }
        Ok(())
    })?;
    // The interaction's own call state is authoritative; the hint only fills a gap.
    if let Some(value) = hint_call_state {
        if !meta.has(Attr::CallState) {
            meta.set(Attr::CallState, value);
        }
    }
    Ok(())
}

/// Rejects events that cannot be attributed: a lifecycle event needs its
/// interaction, an action request or result its request or interaction. The
/// offset is that of `data` (where the attribute belongs), else 0.
fn check(meta: &EventMeta, payload: &[u8], data: Option<Span>) -> DecodeResult<()> {
    let EventKind::Ors(event) = meta.kind else { return Ok(()) };
    let present = |attr| meta.get(attr).is_some_and(|value| !is_blank(value, payload));
    let missing = match event {
        OrsEvent::OnMerge => (!present(Attr::ToInteractionId) && !present(Attr::InteractionId))
            .then_some(Attr::InteractionId),
        OrsEvent::Done(_) | OrsEvent::Failed(_) | OrsEvent::Request(_) => {
            (!present(Attr::RequestId) && !present(Attr::InteractionId)).then_some(Attr::RequestId)
        }
        _ => (!present(Attr::InteractionId)).then_some(Attr::InteractionId),
    };
    match missing {
        None => Ok(()),
        Some(attr) => Err(DecodeError::new(
            ErrorKind::MissingAttribute { event: meta.kind, attr },
            data.map_or(0, |span| span.start as usize),
        )),
    }
}

/// `name`: the event and, for action requests and results, the action.
fn event_name(value: Value, payload: &[u8], at: usize) -> DecodeResult<(OrsEvent, Option<Value>)> {
    let unknown = |name: &[u8]| DecodeError::new(ErrorKind::UnknownEvent, at).with_found(name);
    match value {
        Value::Text(span) => {
            let name = span.of(payload);
            let (event, action) = classify(name).ok_or_else(|| unknown(name))?;
            let action = action.map(|(start, end)| {
                Value::Text(Span::new(span.start as usize + start, span.start as usize + end))
            });
            Ok((event, action))
        }
        Value::JsonEscaped(span) => {
            // Rare: escapes in an event name. Classify the decoded name, then find
            // the action's bounds in the raw text so the value still borrows it.
            let raw = span.of(payload);
            let name = unescape_json(raw);
            let (event, action) =
                classify(name.as_bytes()).ok_or_else(|| unknown(name.as_bytes()))?;
            let action = match action {
                None => None,
                Some((start, end)) => {
                    let raw_start = escaped_offset(raw, start).ok_or_else(|| unknown(raw))?;
                    let raw_end = escaped_offset(raw, end).ok_or_else(|| unknown(raw))?;
                    let action =
                        Span::new(span.start as usize + raw_start, span.start as usize + raw_end);
                    Some(if action.of(payload).contains(&b'\\') {
                        Value::JsonEscaped(action)
                    } else {
                        Value::Text(action)
                    })
                }
            };
            Ok((event, action))
        }
        Value::Null => Err(DecodeError::new(ErrorKind::MissingEventName, at)),
        _ => Err(DecodeError::new(
            ErrorKind::InvalidValue { field: "name", expected: "a string" },
            at,
        )),
    }
}

/// Classifies an event name; for actions, also returns the byte range of the
/// action name inside it (everything between the namespace and `.done`, so it
/// may contain dots: `interaction.udata.update.done` → `udata.update`).
fn classify(name: &[u8]) -> Option<(OrsEvent, Option<(usize, usize)>)> {
    if let Some((event, _)) =
        OrsEvent::INTERACTION_EVENTS.iter().find(|(_, known)| known.as_bytes() == name)
    {
        return Some((*event, None));
    }
    let (rest, failed) = match name.strip_prefix(b"error.") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let dot = memchr::memchr(b'.', rest)?;
    let namespace = OrsNamespace::from_name(&rest[..dot])?;
    let start = name.len() - rest.len() + dot + 1;
    let done_at = name.len().saturating_sub(b".done".len());
    let (event, end) = if failed {
        (OrsEvent::Failed(namespace), name.len())
    } else if name.ends_with(b".done") && done_at >= start {
        // `voice..done` (an empty action) is rejected below.
        (OrsEvent::Done(namespace), done_at)
    } else {
        // `voice.done`: the `.done` overlaps the namespace's dot, so this is a
        // request whose action is named "done".
        (OrsEvent::Request(namespace), name.len())
    };
    (end > start).then_some((event, Some((start, end))))
}

/// The offset in the raw (escaped) string `raw` where byte `target` of its
/// decoded text begins, following exactly what [`unescape_json`] produces.
/// `None` if `target` falls inside a decoded character.
fn escaped_offset(raw: &[u8], target: usize) -> Option<usize> {
    let hex4 = |at: usize| -> Option<u32> {
        let digits = raw.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let (mut i, mut decoded) = (0, 0);
    while decoded < target {
        if *raw.get(i)? != b'\\' {
            i += 1;
            decoded += 1;
            continue;
        }
        if raw.get(i + 1) != Some(&b'u') {
            i += 2;
            decoded += 1;
            continue;
        }
        let first = hex4(i + 2)?;
        i += 6;
        let pair = (0xD800..0xDC00).contains(&first)
            && raw.get(i..i + 2) == Some(b"\\u")
            && hex4(i + 2).is_some_and(|second| (0xDC00..0xE000).contains(&second));
        if pair {
            i += 6;
            decoded += 4;
        } else {
            decoded += char::from_u32(first).map_or('\u{FFFD}'.len_utf8(), char::len_utf8);
        }
    }
    (decoded == target).then_some(i)
}

/// A `ccevent` hint: a T-Library message id (unknown ids kept raw) or an event
/// name (`"EventEstablished"`), stored as the message id.
fn cc_event(value: Value, payload: &[u8], at: usize) -> DecodeResult<Value> {
    let by_name = |name: &[u8]| match TEvent::from_name(name) {
        Some(event) => Ok(Value::Int(event.code())),
        None => Err(DecodeError::new(ErrorKind::UnknownEnumName { attr: Attr::CcEvent }, at)
            .with_found(name)),
    };
    match value {
        Value::Int(_) | Value::Null => Ok(value),
        Value::Text(span) => by_name(span.of(payload)),
        Value::JsonEscaped(span) => by_name(unescape_json(span.of(payload)).as_bytes()),
        _ => Err(tlib::invalid(Attr::CcEvent, "an event name or integer", at)),
    }
}

// Helpers shared with the `sdk` dialect, the other JSON dialect with
// millisecond times and identifiers that may come as numbers.

/// The offset of the value after `pos` (skipping the blanks after `:`), so
/// errors point at the value itself.
pub(super) fn value_start(payload: &[u8], pos: usize) -> usize {
    let blanks = payload
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    pos + blanks
}

/// An identifier or free text (`interactionid`, `agentNo`, …): a string, or a
/// number kept as its digits (`Value::Text`) so that it keys, prints and
/// compares like the string form. `at..end` is the value in the record.
pub(super) fn text_value(attr: Attr, value: Value, at: usize, end: usize) -> DecodeResult<Value> {
    match value {
        Value::Text(_) | Value::JsonEscaped(_) | Value::Null => Ok(value),
        Value::Int(_) | Value::Number(_) => Ok(Value::Text(Span::new(at, end))),
        _ => Err(tlib::invalid(attr, "a string or a number", at)),
    }
}

/// The span of a nested object; anything else is rejected.
pub(super) fn object(
    value: Value,
    payload: &[u8],
    field: &'static str,
    at: usize,
) -> DecodeResult<Span> {
    match value {
        Value::Json(span) if span.of(payload).first() == Some(&b'{') => Ok(span),
        _ => Err(DecodeError::new(ErrorKind::InvalidValue { field, expected: "an object" }, at)),
    }
}

/// An event time: RFC 3339 text, or an integer of epoch milliseconds.
pub(super) fn time(value: Value, payload: &[u8], at: usize) -> DecodeResult<Timestamp> {
    match value {
        Value::Text(span) => Timestamp::parse_rfc3339(span.of(payload)).ok_or_else(|| {
            DecodeError::new(ErrorKind::InvalidTime("milliseconds"), at)
                .with_found(span.of(payload))
        }),
        Value::Int(millis) => Ok(Timestamp(millis.saturating_mul(1000))),
        _ => Err(DecodeError::new(ErrorKind::InvalidTime("milliseconds"), at)),
    }
}

/// Whether an identifier value says nothing: null or the empty string.
pub(super) fn is_blank(value: Value, payload: &[u8]) -> bool {
    match value {
        Value::Null => true,
        Value::Text(span) | Value::JsonEscaped(span) => span.of(payload).is_empty(),
        _ => false,
    }
}

/// Accessors for the attributes only Orchestration Server events carry.
impl<'a> Event<'a> {
    /// The T-Library event behind an ORS interaction event (`data.hints.ccevent`,
    /// given as a name or a message id). Ids this version does not know come back
    /// as [`TEvent::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{Decoder, Format, TEvent};
    ///
    /// let record = br#"{"name":"interaction.partystatechanged",
    ///     "data":{"interactionid":"ixn-1","hints":{"ccevent":"EventEstablished"}}}"#;
    /// let event = Decoder::new(Format::Ors).decode(record, None)?;
    /// assert_eq!(event.cc_event(), Some(TEvent::Established));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cc_event(&self) -> Option<TEvent> {
        self.int(Attr::CcEvent).map(TEvent::from_code)
    }

    /// The action of an ORS action request or result: `redirect` for
    /// `interaction.redirect`, `interaction.redirect.done` and
    /// `error.interaction.redirect`. The bytes are those of the record (in the
    /// rare case of JSON escapes in the event name they are left as they are;
    /// [`Event::text`] with [`Attr::Action`] decodes them). `None` for lifecycle
    /// events.
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{Decoder, EventKind, Format, OrsEvent, OrsNamespace};
    ///
    /// let record = br#"{"name":"voice.singlesteptransfer.done","data":{"requestid":"r-7"}}"#;
    /// let event = Decoder::new(Format::Ors).decode(record, None)?;
    /// assert_eq!(event.kind(), EventKind::Ors(OrsEvent::Done(OrsNamespace::Voice)));
    /// assert_eq!(event.ors_action(), Some(&b"singlesteptransfer"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ors_action(&self) -> Option<&'a [u8]> {
        self.raw(Attr::Action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        use OrsNamespace::*;
        type Classified<'n> = Option<(OrsEvent, Option<&'n [u8]>)>;
        let cases: [(&[u8], Classified<'_>); 12] = [
            (b"interaction.added", Some((OrsEvent::Added, None))),
            (b"interaction.udata.changed", Some((OrsEvent::UdataChanged, None))),
            (b"interaction.redirect", Some((OrsEvent::Request(Interaction), Some(b"redirect")))),
            (b"voice.a.b.done", Some((OrsEvent::Done(Voice), Some(b"a.b")))),
            (b"error.chat.send.done", Some((OrsEvent::Failed(Chat), Some(b"send.done")))),
            (b"msgbased.done", Some((OrsEvent::Request(MsgBased), Some(b"done")))),
            (b"voice..done", None),
            (b"voice.", None),
            (b"error.voice.", None),
            (b"error.foo.x", None),
            (b"foo", None),
            (b"", None),
        ];
        for (name, expected) in cases {
            let got = classify(name)
                .map(|(event, range)| (event, range.map(|(start, end)| &name[start..end])));
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn maps_decoded_offsets_to_escaped_offsets() {
        let raw = br"a\u00e9\ud83d\ude00\n.b";
        // decoded: a (1) é (2) 😀 (4) \n (1) . (1) b (1)
        assert_eq!(escaped_offset(raw, 0), Some(0));
        assert_eq!(escaped_offset(raw, 1), Some(1));
        assert_eq!(escaped_offset(raw, 2), None);
        assert_eq!(escaped_offset(raw, 3), Some(7));
        assert_eq!(escaped_offset(raw, 7), Some(19));
        assert_eq!(escaped_offset(raw, 8), Some(21));
        assert_eq!(escaped_offset(raw, 10), Some(23));
        assert_eq!(escaped_offset(raw, 11), None);
        assert_eq!(escaped_offset(br"\ud800x", 3), Some(6));
    }
}
