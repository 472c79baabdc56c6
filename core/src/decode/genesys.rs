//! The `genesys` dialect: Voice Microservices JSON, one object per record, the
//! event name in `"id"` and T-Library attributes without the `Attribute` prefix.

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{Attr, Dialect, Event, EventKind, TEvent, Timestamp, Value};

use super::json::{for_each_member, unescape_json};
use super::{DecodeOptions, tlib};

/// Decodes one Voice Microservices JSON record.
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    let mut event = Event::start(payload, key, Dialect::Genesys, EventKind::TLib(TEvent::Other(0)));
    let meta = event.meta_mut();
    let mut named = false;
    let (mut secs, mut micros) = (None, None);
    for_each_member(payload, options.max_depth, |scanner, name| {
        let at = scanner.pos();
        let value = scanner.value(1)?;
        if let Some(attr) = tlib::attr_by_name(name) {
            let value = tlib::normalize(attr, value, payload, at)?;
            meta.set(attr, value);
            return Ok(());
        }
        match name {
            b"id" => {
                meta.kind = EventKind::TLib(event_id(value, payload, at)?);
                named = true;
            }
            b"time" => meta.time = Some(time(value, payload, at)?),
            b"TimeinSecs" => secs = Some(integer(value, "TimeinSecs", at)?),
            b"TimeinuSecs" => micros = Some(integer(value, "TimeinuSecs", at)?),
            b"tenant" | b"Tenant" => meta.set(Attr::Tenant, value),
            _ => {}
        }
        Ok(())
    })?;
    if !named {
        return Err(DecodeError::new(ErrorKind::MissingEventName, 0));
    }
    if meta.time.is_none() {
        if let Some(secs) = secs {
            meta.time = Some(Timestamp::from_secs_micros(secs, micros.unwrap_or(0)));
        }
    }
    tlib::check(&event)?;
    Ok(event)
}

/// The event of an `"id"`: a name (`"EventRinging"`) or a T-Library message id.
fn event_id(value: Value, payload: &[u8], at: usize) -> DecodeResult<TEvent> {
    let unknown = |name: &[u8]| DecodeError::new(ErrorKind::UnknownEvent, at).with_found(name);
    match value {
        Value::Text(span) => {
            TEvent::from_name(span.of(payload)).ok_or_else(|| unknown(span.of(payload)))
        }
        Value::JsonEscaped(span) => {
            let name = unescape_json(span.of(payload));
            TEvent::from_name(name.as_bytes()).ok_or_else(|| unknown(name.as_bytes()))
        }
        Value::Int(code) => Ok(TEvent::from_code(code)),
        _ => Err(DecodeError::new(ErrorKind::MissingEventName, at)),
    }
}

/// `"time"`: RFC 3339 text or integer epoch microseconds.
fn time(value: Value, payload: &[u8], at: usize) -> DecodeResult<Timestamp> {
    match value {
        Value::Text(span) => Timestamp::parse_rfc3339(span.of(payload)).ok_or_else(|| {
            DecodeError::new(ErrorKind::InvalidTime("microseconds"), at)
                .with_found(span.of(payload))
        }),
        Value::Int(micros) => Ok(Timestamp(micros)),
        _ => Err(DecodeError::new(ErrorKind::InvalidTime("microseconds"), at)),
    }
}

fn integer(value: Value, what: &'static str, at: usize) -> DecodeResult<i64> {
    match value {
        Value::Int(n) => Ok(n),
        _ => Err(DecodeError::new(
            ErrorKind::InvalidValue { field: what, expected: "an integer" },
            at,
        )),
    }
}
