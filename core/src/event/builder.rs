//! Events built by the embedder's own parser: a record that ctistream's decoders
//! do not read (or read with another parser) still reaches the reducers as an
//! [`Event`].

use crate::decode::tlib;
use crate::error::{DecodeError, DecodeResult, ErrorKind};

use super::{Attr, Dialect, Event, EventKind, Span, Timestamp, Value};

/// Builds an [`Event`] from fields found by another parser.
///
/// Text values are slices of the record without escapes (a parser that borrows
/// its strings from the input, such as serde with `&str` fields, gives exactly
/// these: it cannot borrow a string with escapes), so the event borrows the
/// record as a decoded one does and holds what a decoder would give for the
/// same text. Enumeration names become their codes as in decoding, and
/// [`EventBuilder::build`] checks the attributes a T-Library event must carry;
/// events of the other dialects get no such check (their decoders' checks
/// depend on the layout of their records).
///
/// # Examples
///
/// ```
/// use ctistream_core::{Attr, CallType, Dialect, EventBuilder, EventKind, TEvent};
///
/// let record = br#"{"id":"EventRinging","CallThreadID":"ct-1","ThisDN":"5001","CallType":"Inbound"}"#;
/// let field = |name: &str| {
///     let at = record.windows(name.len()).position(|w| w == name.as_bytes()).unwrap();
///     &record[at..at + name.len()]
/// };
/// let mut builder =
///     EventBuilder::new(record, Dialect::Genesys, EventKind::TLib(TEvent::Ringing));
/// builder.text(Attr::CallThreadID, field("ct-1"))?;
/// builder.text(Attr::ThisDN, field("5001"))?;
/// builder.text(Attr::CallType, field("Inbound"))?;
/// let event = builder.build()?;
/// assert_eq!(event.call_type(), Some(CallType::Inbound));
/// assert_eq!(event.call_key(), Some(&b"ct-1"[..]));
/// # Ok::<(), ctistream_core::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct EventBuilder<'a> {
    event: Event<'a>,
}

impl<'a> EventBuilder<'a> {
    /// Starts an event of `kind` read from `payload`.
    pub fn new(payload: &'a [u8], dialect: Dialect, kind: EventKind) -> EventBuilder<'a> {
        EventBuilder { event: Event::start(payload, None, dialect, kind) }
    }

    /// The record key (a Kafka message key, `tenant:id`), as a decoder is given it.
    pub fn key(&mut self, key: Option<&'a [u8]>) -> &mut Self {
        self.event.set_key(key);
        self
    }

    /// The event time.
    pub fn time(&mut self, time: Timestamp) -> &mut Self {
        self.event.meta_mut().time = Some(time);
        self
    }

    /// Sets `attr` to text that is a slice of the record; an enumeration
    /// attribute's name becomes its code. A later value replaces an earlier one.
    ///
    /// # Errors
    /// An enumeration name the attribute does not know, at the text's offset.
    ///
    /// # Panics
    /// When `text` is not a slice of the record given to [`EventBuilder::new`].
    pub fn text(&mut self, attr: Attr, text: &'a [u8]) -> DecodeResult<&mut Self> {
        let span = self.span_of(text);
        let value = match attr.enum_table() {
            Some(table) => match table.code_of(text) {
                Some(code) => Value::Int(code),
                None => {
                    return Err(DecodeError::new(
                        ErrorKind::UnknownEnumName { attr },
                        span.start as usize,
                    )
                    .with_found(text));
                }
            },
            None => Value::Text(span),
        };
        self.event.meta_mut().set(attr, value);
        Ok(self)
    }

    /// Sets `attr` to an integer (a sequence number, a server, an enumeration code).
    pub fn int(&mut self, attr: Attr, value: i64) -> &mut Self {
        self.event.meta_mut().set(attr, Value::Int(value));
        self
    }

    /// Sets `attr` to a JSON object or array kept raw (`UserData`, `Reasons`),
    /// a slice of the record.
    ///
    /// # Panics
    /// When `json` is not a slice of the record.
    pub fn json(&mut self, attr: Attr, json: &'a [u8]) -> &mut Self {
        let span = self.span_of(json);
        self.event.meta_mut().set(attr, Value::Json(span));
        self
    }

    /// The event, once it carries what its kind requires.
    ///
    /// # Errors
    /// A T-Library event without the attributes a decoder would require of it
    /// (`EventRinging without ThisDN`, a call event without a call identity).
    /// Other kinds are not checked.
    pub fn build(self) -> DecodeResult<Event<'a>> {
        tlib::check(&self.event)?;
        Ok(self.event)
    }

    /// Where `part` lies in the record.
    fn span_of(&self, part: &[u8]) -> Span {
        // Address arithmetic only: both are live slices, and the bounds check
        // below is what makes the span mean the same bytes.
        let payload = self.event.payload();
        let start = (part.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
        assert!(
            start <= payload.len() && part.len() <= payload.len() - start,
            "EventBuilder: a value is not a slice of the record"
        );
        // Spans hold 32-bit offsets (records are capped far below that).
        assert!(start + part.len() <= u32::MAX as usize, "EventBuilder: a record over 4 GiB");
        Span::new(start, start + part.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TEvent;
    use crate::{Decoder, Format};

    /// The record's bytes for the first occurrence of `text`.
    fn slice_of<'a>(record: &'a [u8], text: &str) -> &'a [u8] {
        let at = record.windows(text.len()).position(|w| w == text.as_bytes()).unwrap();
        &record[at..at + text.len()]
    }

    #[test]
    fn a_built_event_holds_what_the_decoder_finds_in_the_same_record() {
        let record = br#"{"id":"EventEstablished","time":"2026-11-20T08:00:01.250Z","CallThreadID":"ct-9","ConnID":"00a1","ThisDN":"5001","AgentID":"a7","CallType":"Inbound","Server":2,"Reasons":{"ReasonCode":"x"}}"#;
        let decoded = Decoder::new(Format::Genesys).decode(record, Some(b"t1:ct-9")).unwrap();
        let mut builder =
            EventBuilder::new(record, Dialect::Genesys, EventKind::TLib(TEvent::Established));
        builder
            .key(Some(b"t1:ct-9"))
            .time(Timestamp::parse_rfc3339(b"2026-11-20T08:00:01.250Z").unwrap());
        for (attr, text) in [
            (Attr::CallThreadID, "ct-9"),
            (Attr::ConnID, "00a1"),
            (Attr::ThisDN, "5001"),
            (Attr::AgentID, "a7"),
            (Attr::CallType, "Inbound"),
        ] {
            builder.text(attr, slice_of(record, text)).unwrap();
        }
        builder.int(Attr::Server, 2).json(Attr::Reasons, slice_of(record, r#"{"ReasonCode":"x"}"#));
        let built = builder.build().unwrap();
        assert_eq!(built.kind(), decoded.kind());
        assert_eq!(built.time(), decoded.time());
        assert_eq!(built.key(), decoded.key());
        let mut from_builder: Vec<_> = built.attrs().collect();
        let mut from_decoder: Vec<_> = decoded.attrs().collect();
        from_builder.sort_by_key(|(attr, _)| *attr);
        from_decoder.sort_by_key(|(attr, _)| *attr);
        assert_eq!(from_builder, from_decoder);
    }

    #[test]
    fn an_unknown_enumeration_name_is_an_error_at_its_offset() {
        let record = br#"{"CallType":"Sideways"}"#;
        let mut builder =
            EventBuilder::new(record, Dialect::Genesys, EventKind::TLib(TEvent::Ringing));
        let error = builder.text(Attr::CallType, slice_of(record, "Sideways")).unwrap_err();
        assert_eq!(error.offset(), 13);
        assert!(error.to_string().contains("Sideways"), "{error}");
    }

    #[test]
    fn a_call_event_without_its_dn_is_refused_as_the_decoder_refuses_it() {
        let record = br#"{"CallThreadID":"ct-1"}"#;
        let mut builder =
            EventBuilder::new(record, Dialect::Genesys, EventKind::TLib(TEvent::Ringing));
        builder.text(Attr::CallThreadID, slice_of(record, "ct-1")).unwrap();
        let error = builder.build().unwrap_err();
        assert_eq!(error.class(), "EventRinging without ThisDN");
    }

    #[test]
    #[should_panic(expected = "not a slice of the record")]
    fn text_from_elsewhere_is_a_caller_bug() {
        let record = br#"{"ThisDN":"5001"}"#;
        let elsewhere = b"5001".to_vec();
        let mut builder =
            EventBuilder::new(record, Dialect::Genesys, EventKind::TLib(TEvent::Ringing));
        let _ = builder.text(Attr::ThisDN, &elsewhere);
    }
}
