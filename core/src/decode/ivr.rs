//! The `ivr` dialect: IVR Server XML messages (PROTOCOLS.md `ivr`).
//!
//! A record is one `LoginResp` or `MonitorInfo` element, optionally wrapped in
//! `<GctiMsg>…</GctiMsg>`. Element and attribute names are compared without
//! regard to letter case, end tags included. Each value may come as an
//! attribute (`<Port PortNum="12" Status="OK"/>`) or as a child element
//! holding text (`<Port><PortNum>12</PortNum><Status>OK</Status></Port>`).
//! Attributes and child elements the dialect does not know are skipped (after
//! a well-formedness check), so newer servers can add fields.
//!
//! Values are stored as spans of the record: [`Value::Text`], or
//! [`Value::XmlEscaped`] when the raw text holds entity references, which are
//! validated here so that [`unescape_xml`] later always succeeds.
//!
//! # Why not `quick_xml::Reader`
//!
//! The reader records the name of every open element in two `Vec`s, even
//! with `check_end_names` off (quick-xml issue #514), so a fresh reader per
//! record allocates on the first start tag; and its end-tag check is
//! case-sensitive, which this dialect is not. The grammar of these records is
//! small, so [`Lexer`] below cuts the record into tokens itself and borrows
//! quick-xml where it fits without allocating: [`ElementParser`] finds the
//! `>` that closes a tag (quotes respected) and [`Attributes`] splits the
//! attributes (its duplicate check is off, because it would allocate; this
//! decoder checks duplicates of the values it keeps). Nothing here allocates
//! on the success path, except unescaping a `Status`/`Result` value that was
//! written with entity references (never seen in practice).
//!
//! A `DOCTYPE` is rejected outright: entity declarations are a denial of
//! service risk on hostile input and IVR Server never sends one.

use memchr::{memchr, memchr2, memmem};
use quick_xml::events::attributes::{AttrError, Attributes};
use quick_xml::parser::{ElementParser, Parser};

use crate::error::{DecodeError, DecodeResult, ErrorKind};
use crate::event::{
    AgentStatus, Attr, Dialect, Event, EventKind, EventMeta, IvrMessage, IvrStatus, Span, Value,
};

use super::{DecodeOptions, unescape_xml};

/// Deepest element nesting accepted. Real messages nest four deep
/// (`GctiMsg/MonitorInfo/Port/PortNum`); the bound keeps the recursion over
/// unknown subtrees shallow on hostile input.
const MAX_DEPTH: u32 = 32;

/// The reason for a `MonitorInfo` without, or with more than one, status child.
const ONE_CHILD: &str = "MonitorInfo must have exactly one child (Server, Port or Agent)";

/// The reason for a `GctiMsg` that wraps other than exactly one message.
const ONE_MESSAGE: &str = "GctiMsg must hold exactly one message";

/// Decodes one IVR Server XML record. No option applies: `max_depth` is the
/// JSON nesting limit, and XML nesting has its own fixed bound ([`MAX_DEPTH`]).
pub(crate) fn decode<'a>(
    payload: &'a [u8],
    key: Option<&'a [u8]>,
    _options: &DecodeOptions,
) -> DecodeResult<Event<'a>> {
    // Spans are 32-bit; the framing limit keeps records far below this.
    if u32::try_from(payload.len()).is_err() {
        let limit = u32::MAX as usize;
        return Err(DecodeError::new(ErrorKind::RecordTooLarge { limit }, 0));
    }
    let text = super::json::utf8(payload)?;
    let mut lexer = Lexer::new(text);
    let root = lexer.root()?;
    let meta = if root.name.eq_ignore_ascii_case(b"GctiMsg") {
        gcti_msg(&mut lexer, &root)?
    } else {
        message(&mut lexer, &root, 1)?
    };
    lexer.epilogue()?;
    Ok(Event::with_meta(payload, key, meta))
}

impl Event<'_> {
    /// The `Status` of an IVR Server message: the server or port link status
    /// (`OK`, `Unavailable`), the agent status on a port (`LoggedIn`,
    /// `LoggedOut`, `Ready`, `NotReady`, `Unknown`), or the server state in a
    /// `LoginResp` (`OK`, `NoSuchClient`, `InitInProgress`). `None` for events
    /// of other dialects and for a `LoginResp` without `Status`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{Decoder, Format, IvrStatus};
    ///
    /// let record = br#"<MonitorInfo><Port PortNum="12" Status="unavailable"/></MonitorInfo>"#;
    /// let event = Decoder::new(Format::Ivr).decode(record, None)?;
    /// assert_eq!(event.ivr_status(), Some(IvrStatus::Unavailable));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ivr_status(&self) -> Option<IvrStatus> {
        ivr_enum(self, Attr::Status)
    }

    /// The `Result` of an IVR Server `LoginResp` (`Success`,
    /// `InvalidProtocolVersion`); `None` for any other event.
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{Decoder, Format, IvrStatus};
    ///
    /// let record = br#"<LoginResp IServerVersion="8.5.000.12" Result="Success" Status="OK"/>"#;
    /// let event = Decoder::new(Format::Ivr).decode(record, None)?;
    /// assert_eq!(event.ivr_result(), Some(IvrStatus::Success));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ivr_result(&self) -> Option<IvrStatus> {
        ivr_enum(self, Attr::Result)
    }

    /// The unified agent status an IVR `MonitorInfo/Agent` message reports
    /// (PROTOCOLS.md `ivr`): `LoggedOut` and `Unknown` are
    /// [`AgentStatus::LoggedOut`], `Ready` is [`AgentStatus::WaitForNextCall`]
    /// and `NotReady` is [`AgentStatus::NotReadyForNextCall`] (both imply a
    /// login). `LoggedIn` gives `None`: it is transient, a `Ready` or `NotReady`
    /// follows and says which status the agent is in. `None` as well for any
    /// event that is not an IVR agent status.
    ///
    /// # Examples
    ///
    /// ```
    /// use ctistream_core::{AgentStatus, Decoder, Format};
    ///
    /// let decoder = Decoder::new(Format::Ivr);
    /// let ready = decoder.decode(br#"<MonitorInfo><Agent PortNum="12" Status="Ready"/></MonitorInfo>"#, None)?;
    /// assert_eq!(ready.ivr_agent_status(), Some(AgentStatus::WaitForNextCall));
    /// let login = decoder.decode(br#"<MonitorInfo><Agent PortNum="12" Status="LoggedIn"/></MonitorInfo>"#, None)?;
    /// assert_eq!(login.ivr_agent_status(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ivr_agent_status(&self) -> Option<AgentStatus> {
        if self.kind() != EventKind::Ivr(IvrMessage::AgentStatus) {
            return None;
        }
        match self.ivr_status()? {
            IvrStatus::LoggedOut | IvrStatus::Unknown => Some(AgentStatus::LoggedOut),
            IvrStatus::Ready => Some(AgentStatus::WaitForNextCall),
            IvrStatus::NotReady => Some(AgentStatus::NotReadyForNextCall),
            _ => None,
        }
    }
}

/// An IVR `Status`/`Result` value of `event`, if it is an IVR event with one.
fn ivr_enum(event: &Event<'_>, attr: Attr) -> Option<IvrStatus> {
    if event.dialect() != Dialect::Ivr {
        return None;
    }
    match IvrStatus::from_name(event.text(attr)?.as_bytes()) {
        IvrStatus::Other => None,
        status => Some(status),
    }
}

/// What one element of the dialect holds: the values it names (wire name and
/// attribute), which of them it cannot be processed without, and the
/// `Status`/`Result` names it allows.
struct Schema {
    values: &'static [(&'static str, Attr)],
    required: &'static [Attr],
    statuses: &'static [IvrStatus],
    results: &'static [IvrStatus],
}

impl Schema {
    /// The attribute a value named `name` (any letter case) is stored as.
    fn attr(&self, name: &[u8]) -> Option<Attr> {
        self.values.iter().find(|(wire, _)| name.eq_ignore_ascii_case(wire.as_bytes())).map(|v| v.1)
    }
}

const LOGIN_RESP: Schema = Schema {
    values: &[
        ("IServerVersion", Attr::ServerVersion),
        ("Result", Attr::Result),
        ("Status", Attr::Status),
        ("ConfigOptions", Attr::ConfigOptions),
    ],
    required: &[Attr::Result],
    statuses: &[IvrStatus::NoSuchClient, IvrStatus::InitInProgress, IvrStatus::Ok],
    results: &[IvrStatus::Success, IvrStatus::InvalidProtocolVersion],
};

const MONITOR_INFO: Schema =
    Schema { values: &[("ReqId", Attr::RequestId)], required: &[], statuses: &[], results: &[] };

const SERVER: Schema = Schema {
    values: &[("Name", Attr::Name), ("Status", Attr::Status), ("Switch", Attr::Switch)],
    required: &[Attr::Status],
    statuses: &[IvrStatus::Ok, IvrStatus::Unavailable],
    results: &[],
};

const PORT: Schema = Schema {
    values: &[("PortNum", Attr::PortNum), ("Status", Attr::Status)],
    required: &[Attr::PortNum, Attr::Status],
    statuses: &[IvrStatus::Ok, IvrStatus::Unavailable],
    results: &[],
};

const AGENT: Schema = Schema {
    values: &[("PortNum", Attr::PortNum), ("Status", Attr::Status)],
    required: &[Attr::PortNum, Attr::Status],
    statuses: &[
        IvrStatus::LoggedIn,
        IvrStatus::LoggedOut,
        IvrStatus::Ready,
        IvrStatus::NotReady,
        IvrStatus::Unknown,
    ],
    results: &[],
};

/// Reads the content of a `<GctiMsg>` root: exactly one message.
fn gcti_msg<'a>(lexer: &mut Lexer<'a>, tag: &Tag<'a>) -> DecodeResult<EventMeta> {
    lexer.attributes(tag, |_| Ok(()))?;
    if tag.empty {
        return Err(xml(ONE_MESSAGE, tag.at));
    }
    let mut meta = None;
    loop {
        match lexer.next()? {
            Token::Text { start, end, .. } | Token::CData { start, end } => {
                lexer.whitespace_only(start, end)?;
            }
            Token::Start(child) => {
                if meta.is_some() {
                    return Err(xml(ONE_MESSAGE, child.at));
                }
                meta = Some(message(lexer, &child, 2)?);
            }
            Token::End { name, at } => {
                tag.check_end(name, at)?;
                return meta.ok_or_else(|| xml(ONE_MESSAGE, tag.at));
            }
            Token::Eof => return Err(tag.unclosed()),
        }
    }
}

/// Reads one message element (`LoginResp` or `MonitorInfo`) at `depth`.
fn message<'a>(lexer: &mut Lexer<'a>, tag: &Tag<'a>, depth: u32) -> DecodeResult<EventMeta> {
    if tag.name.eq_ignore_ascii_case(b"LoginResp") {
        let mut meta = EventMeta::new(Dialect::Ivr, EventKind::Ivr(IvrMessage::LoginResp));
        walk(lexer, &mut meta, tag, depth, &LOGIN_RESP, &mut |_, _, _, _| Ok(false))?;
        return Ok(meta);
    }
    if !tag.name.eq_ignore_ascii_case(b"MonitorInfo") {
        return Err(xml("unknown element", tag.at).with_found(tag.name));
    }
    // The kind is set by the child; until then nothing reads it.
    let mut meta = EventMeta::new(Dialect::Ivr, EventKind::Ivr(IvrMessage::ServerStatus));
    let mut seen = false;
    walk(lexer, &mut meta, tag, depth, &MONITOR_INFO, &mut |lexer, meta, child, depth| {
        let (kind, schema) = if child.name.eq_ignore_ascii_case(b"Server") {
            (IvrMessage::ServerStatus, &SERVER)
        } else if child.name.eq_ignore_ascii_case(b"Port") {
            (IvrMessage::PortStatus, &PORT)
        } else if child.name.eq_ignore_ascii_case(b"Agent") {
            (IvrMessage::AgentStatus, &AGENT)
        } else {
            return Ok(false);
        };
        if seen {
            return Err(xml(ONE_CHILD, child.at));
        }
        seen = true;
        meta.kind = EventKind::Ivr(kind);
        walk(lexer, meta, child, depth, schema, &mut |_, _, _, _| Ok(false))?;
        Ok(true)
    })?;
    if !seen {
        return Err(xml(ONE_CHILD, tag.at));
    }
    Ok(meta)
}

/// Handles a child element of a container that is not one of its values;
/// returns `false` to have it skipped.
type ChildFn<'f, 'a> =
    dyn FnMut(&mut Lexer<'a>, &mut EventMeta, &Tag<'a>, u32) -> DecodeResult<bool> + 'f;

/// Reads the container element `tag` (already lexed) up to its end tag: the
/// values `schema` names, from attributes or from child elements, go to
/// `meta`; other child elements go to `child`, and are skipped if it declines
/// them. Then checks the values `schema` requires.
fn walk<'a>(
    lexer: &mut Lexer<'a>,
    meta: &mut EventMeta,
    tag: &Tag<'a>,
    depth: u32,
    schema: &Schema,
    child: &mut ChildFn<'_, 'a>,
) -> DecodeResult<()> {
    check_depth(tag, depth)?;
    let payload = lexer.bytes();
    lexer.attributes(tag, |field| match schema.attr(field.name) {
        Some(attr) => store(meta, payload, schema, attr, &field),
        None => Ok(()),
    })?;
    if !tag.empty {
        loop {
            match lexer.next()? {
                Token::Text { start, end, .. } | Token::CData { start, end } => {
                    lexer.whitespace_only(start, end)?;
                }
                Token::Start(inner) => {
                    if let Some(attr) = schema.attr(inner.name) {
                        let field = lexer.leaf(&inner, depth + 1)?;
                        store(meta, payload, schema, attr, &field)?;
                    } else if !child(lexer, meta, &inner, depth + 1)? {
                        lexer.skip(&inner, depth + 1)?;
                    }
                }
                Token::End { name, at } => {
                    tag.check_end(name, at)?;
                    break;
                }
                Token::Eof => return Err(tag.unclosed()),
            }
        }
    }
    for &attr in schema.required {
        // An empty value (`PortNum=""`) identifies nothing: as good as missing.
        let present = meta.get(attr).is_some_and(|value| match value {
            Value::Text(span) | Value::XmlEscaped(span) => span.len > 0,
            _ => true,
        });
        if !present {
            return Err(DecodeError::new(
                ErrorKind::MissingAttribute { event: meta.kind, attr },
                tag.at,
            ));
        }
    }
    Ok(())
}

/// Stores one value of an element in `meta`, checking `Status` and `Result`
/// against the names `schema` allows.
fn store(
    meta: &mut EventMeta,
    payload: &[u8],
    schema: &Schema,
    attr: Attr,
    field: &Field<'_>,
) -> DecodeResult<()> {
    if meta.has(attr) {
        return Err(xml("duplicate value", field.name_at).with_found(field.name));
    }
    let allowed = match attr {
        Attr::Status => schema.statuses,
        Attr::Result => schema.results,
        _ => &[],
    };
    if !allowed.is_empty() {
        let status = match field.value {
            Value::XmlEscaped(span) => {
                IvrStatus::from_name(unescape_xml(span.of(payload)).as_bytes())
            }
            Value::Text(span) => IvrStatus::from_name(span.of(payload)),
            _ => IvrStatus::Other,
        };
        if !allowed.contains(&status) {
            let raw = match field.value {
                Value::Text(span) | Value::XmlEscaped(span) => span.of(payload),
                _ => &[],
            };
            return Err(DecodeError::new(ErrorKind::UnknownEnumName { attr }, field.value_at)
                .with_found(raw));
        }
    }
    meta.set(attr, field.value);
    Ok(())
}

fn check_depth(tag: &Tag<'_>, depth: u32) -> DecodeResult<()> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::new(ErrorKind::DepthLimit(MAX_DEPTH), tag.at));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn xml(reason: &'static str, at: usize) -> DecodeError {
    DecodeError::new(ErrorKind::Xml(reason), at)
}

/// A named value: an attribute, or a child element holding text.
struct Field<'a> {
    name: &'a [u8],
    name_at: usize,
    value: Value,
    value_at: usize,
}

/// A start tag (`<Name attr="v">`) or an empty-element tag (`<Name/>`).
#[derive(Debug)]
struct Tag<'a> {
    /// Offset of the `<`.
    at: usize,
    /// Offset just past the `>`.
    end: usize,
    name: &'a [u8],
    /// Everything between `<` and `>` (or `/>`): the name, then the attributes.
    content: &'a str,
    /// Whether the tag closes itself (`<Name/>`).
    empty: bool,
}

impl Tag<'_> {
    fn check_end(&self, name: &[u8], at: usize) -> DecodeResult<()> {
        if name.eq_ignore_ascii_case(self.name) {
            Ok(())
        } else {
            Err(xml("mismatched end tag", at).with_found(name))
        }
    }

    #[cold]
    fn unclosed(&self) -> DecodeError {
        xml("unclosed element", self.at).with_found(self.name)
    }
}

/// One piece of the record. Comments, processing instructions and the XML
/// declaration are skipped by the lexer.
#[derive(Debug)]
enum Token<'a> {
    Start(Tag<'a>),
    End {
        name: &'a [u8],
        at: usize,
    },
    /// Character data (`start..end`, raw); `escaped` when it holds entity
    /// references (already validated).
    Text {
        start: usize,
        end: usize,
        escaped: bool,
    },
    /// The content of a `<![CDATA[…]]>` section.
    CData {
        start: usize,
        end: usize,
    },
    Eof,
}

/// Cuts a record into [`Token`]s, borrowing it.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        // A UTF-8 byte order mark may precede the XML declaration.
        let pos = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Lexer { text, pos }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next token.
    fn next(&mut self) -> DecodeResult<Token<'a>> {
        let bytes = self.bytes();
        loop {
            let at = self.pos;
            let rest = bytes.get(at..).unwrap_or_default();
            let Some(&first) = rest.first() else { return Ok(Token::Eof) };
            if first != b'<' {
                let end = memchr(b'<', rest).map_or(bytes.len(), |i| at + i);
                self.pos = end;
                let escaped = check_refs(bytes, at, end)?;
                return Ok(Token::Text { start: at, end, escaped });
            }
            if let Some(body) = rest.strip_prefix(b"<!--") {
                let close =
                    memmem::find(body, b"-->").ok_or_else(|| xml("unclosed comment", at))?;
                self.pos = at + 4 + close + 3;
                continue;
            }
            if let Some(body) = rest.strip_prefix(b"<![CDATA[") {
                let close =
                    memmem::find(body, b"]]>").ok_or_else(|| xml("unclosed CDATA section", at))?;
                let start = at + 9;
                self.pos = start + close + 3;
                return Ok(Token::CData { start, end: start + close });
            }
            if let Some(body) = rest.strip_prefix(b"<!") {
                // DOCTYPE, or a declaration that is only valid inside one.
                let doctype =
                    body.get(..7).is_some_and(|word| word.eq_ignore_ascii_case(b"DOCTYPE"));
                let reason =
                    if doctype { "DOCTYPE is not allowed" } else { "invalid markup declaration" };
                return Err(xml(reason, at));
            }
            if let Some(body) = rest.strip_prefix(b"<?") {
                let close = memmem::find(body, b"?>")
                    .ok_or_else(|| xml("unclosed processing instruction", at))?;
                self.pos = at + 2 + close + 2;
                continue;
            }
            if let Some(body) = rest.strip_prefix(b"</") {
                let close = memchr(b'>', body).ok_or_else(|| xml("unclosed end tag", at))?;
                let name = trim_end(&body[..close]);
                if !is_name(name) {
                    return Err(xml("malformed end tag", at).with_found(&rest[..close + 3]));
                }
                self.pos = at + close + 3;
                return Ok(Token::End { name, at });
            }
            return self.start_tag(at).map(Token::Start);
        }
    }

    /// Lexes the start or empty-element tag at `at` (a `<`).
    fn start_tag(&mut self, at: usize) -> DecodeResult<Tag<'a>> {
        let body = self.bytes().get(at + 1..).unwrap_or_default();
        let close = ElementParser::Outside.feed(body).ok_or_else(|| xml("unclosed tag", at))?;
        let raw = &body[..close];
        if let Some(lt) = memchr(b'<', raw) {
            // Either the tag was never closed or an attribute value holds '<';
            // both are malformed.
            return Err(xml("'<' inside a tag", at + 1 + lt));
        }
        let (raw, empty) = match raw.strip_suffix(b"/") {
            Some(raw) => (raw, true),
            None => (raw, false),
        };
        let name_len = raw.iter().position(|&b| is_space(b)).unwrap_or(raw.len());
        let name = &raw[..name_len];
        if !is_name(name) {
            return Err(xml("invalid element name", at + 1).with_found(name));
        }
        // '<', '/' and '>' are ASCII, so these are character boundaries.
        let content =
            self.text.get(at + 1..at + 1 + raw.len()).ok_or_else(|| xml("unclosed tag", at))?;
        let end = at + 1 + close + 1;
        self.pos = end;
        Ok(Tag { at, end, name, content, empty })
    }

    /// Reads up to the root element; only whitespace, comments, processing
    /// instructions and the XML declaration may come before it.
    fn root(&mut self) -> DecodeResult<Tag<'a>> {
        loop {
            match self.next()? {
                Token::Start(tag) => return Ok(tag),
                Token::Text { start, end, .. } => {
                    if let Some(at) = non_space(self.bytes(), start, end) {
                        return Err(xml("text before the root element", at));
                    }
                }
                Token::CData { start, .. } => {
                    return Err(xml("text before the root element", start));
                }
                Token::End { name, at } => {
                    return Err(xml("end tag without a start tag", at).with_found(name));
                }
                Token::Eof => return Err(DecodeError::new(ErrorKind::MissingEventName, 0)),
            }
        }
    }

    /// Checks that only whitespace, comments and processing instructions follow
    /// the root element.
    fn epilogue(&mut self) -> DecodeResult<()> {
        loop {
            match self.next()? {
                Token::Eof => return Ok(()),
                Token::Text { start, end, .. } => {
                    if let Some(at) = non_space(self.bytes(), start, end) {
                        return Err(xml("text after the root element", at));
                    }
                }
                Token::CData { start, .. } => {
                    return Err(xml("text after the root element", start));
                }
                Token::Start(tag) => {
                    return Err(xml("second element after the root", tag.at).with_found(tag.name));
                }
                Token::End { name, at } => {
                    return Err(xml("end tag without a start tag", at).with_found(name));
                }
            }
        }
    }

    /// Fails on text other than whitespace in element-only content.
    fn whitespace_only(&self, start: usize, end: usize) -> DecodeResult<()> {
        match non_space(self.bytes(), start, end) {
            None => Ok(()),
            Some(at) => {
                let text = self.bytes().get(at..end).unwrap_or_default();
                Err(xml("unexpected text", at).with_found(trim_end(text)))
            }
        }
    }

    /// Calls `on_attr` with each attribute of `tag`, after checking its syntax,
    /// its name and the entity references of its value.
    fn attributes(
        &self,
        tag: &Tag<'a>,
        mut on_attr: impl FnMut(Field<'a>) -> DecodeResult<()>,
    ) -> DecodeResult<()> {
        let payload = self.bytes();
        let base = tag.at + 1;
        let mut attributes = Attributes::new(tag.content, tag.name.len());
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|error| attr_error(&error, base))?;
            let name = attribute.key.0;
            let name_at = offset_in(payload, name).unwrap_or(base);
            if !is_name(name) {
                return Err(xml("invalid attribute name", name_at).with_found(name));
            }
            // The iterator borrows the value from the record; its position
            // there is the span.
            let raw: &[u8] = &attribute.value;
            let start = offset_in(payload, raw).ok_or_else(|| xml("invalid attribute", name_at))?;
            let end = start + raw.len();
            let span = Span::new(start, end);
            let value = if check_refs(payload, start, end)? {
                Value::XmlEscaped(span)
            } else {
                Value::Text(span)
            };
            on_attr(Field { name, name_at, value, value_at: start })?;
        }
        Ok(())
    }

    /// Reads a value element (`<PortNum>12</PortNum>`): its text without the
    /// surrounding whitespace. Comments may surround the text but not split it.
    fn leaf(&mut self, tag: &Tag<'a>, depth: u32) -> DecodeResult<Field<'a>> {
        check_depth(tag, depth)?;
        self.attributes(tag, |_| Ok(()))?;
        let mut value = None;
        if !tag.empty {
            loop {
                let piece = match self.next()? {
                    Token::Text { start, end, escaped } => {
                        let (start, end) = trim(self.bytes(), start, end);
                        let span = Span::new(start, end);
                        (start < end).then_some(if escaped {
                            Value::XmlEscaped(span)
                        } else {
                            Value::Text(span)
                        })
                    }
                    Token::CData { start, end } => Some(Value::Text(Span::new(start, end))),
                    Token::Start(inner) => {
                        return Err(xml("element inside a value", inner.at).with_found(inner.name));
                    }
                    Token::End { name, at } => {
                        tag.check_end(name, at)?;
                        // An empty value sits where its end tag starts.
                        value = value.or(Some(Value::Text(Span::new(at, at))));
                        break;
                    }
                    Token::Eof => return Err(tag.unclosed()),
                };
                if let Some(piece) = piece {
                    if value.is_some() {
                        return Err(xml("value split by markup", tag.at).with_found(tag.name));
                    }
                    value = Some(piece);
                }
            }
        }
        let value = value.unwrap_or(Value::Text(Span::new(tag.end, tag.end)));
        let value_at = match value {
            Value::Text(span) | Value::XmlEscaped(span) => span.start as usize,
            _ => tag.end,
        };
        Ok(Field { name: tag.name, name_at: tag.at, value, value_at })
    }

    /// Skips an element this dialect does not know, checking that it is well formed.
    fn skip(&mut self, tag: &Tag<'a>, depth: u32) -> DecodeResult<()> {
        check_depth(tag, depth)?;
        self.attributes(tag, |_| Ok(()))?;
        if tag.empty {
            return Ok(());
        }
        loop {
            match self.next()? {
                Token::Text { .. } | Token::CData { .. } => {}
                Token::Start(inner) => self.skip(&inner, depth + 1)?,
                Token::End { name, at } => return tag.check_end(name, at),
                Token::Eof => return Err(tag.unclosed()),
            }
        }
    }
}

/// The error of the attribute iterator, at its offset in the record (`base` is
/// where the tag content starts).
#[cold]
fn attr_error(error: &AttrError, base: usize) -> DecodeError {
    let (reason, at) = match *error {
        AttrError::ExpectedEq(at) => ("attribute without '='", at),
        AttrError::ExpectedValue(at) => ("attribute without a value", at),
        AttrError::UnquotedValue(at) => ("unquoted attribute value", at),
        AttrError::ExpectedQuote(at, _) => ("unclosed attribute value", at),
        AttrError::Duplicated(at, _) => ("duplicate attribute", at),
    };
    xml(reason, base + at)
}

/// Checks the entity references in `bytes[start..end]`: the five predefined
/// ones and character references, as [`unescape_xml`] decodes them. Returns
/// whether there were any.
fn check_refs(bytes: &[u8], start: usize, end: usize) -> DecodeResult<bool> {
    let mut escaped = false;
    let mut from = start;
    while let Some(i) = memchr(b'&', bytes.get(from..end).unwrap_or_default()) {
        let amp = from + i;
        let after = amp + 1;
        let rest = bytes.get(after..end).unwrap_or_default();
        let semi = match memchr2(b';', b'&', rest) {
            Some(j) if rest[j] == b';' => after + j,
            _ => return Err(xml("unterminated entity reference", amp)),
        };
        let name = &bytes[after..semi];
        let known = match name {
            b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => true,
            [b'#', b'x', hex @ ..] => char_ref(hex, 16),
            [b'#', decimal @ ..] => char_ref(decimal, 10),
            _ => false,
        };
        if !known {
            let reason = if name.first() == Some(&b'#') {
                "invalid character reference"
            } else {
                "unknown entity reference"
            };
            return Err(xml(reason, amp).with_found(&bytes[amp..=semi]));
        }
        escaped = true;
        from = semi + 1;
    }
    Ok(escaped)
}

/// Whether `digits` (in `radix`) name a character other than NUL, as quick-xml
/// accepts them.
fn char_ref(digits: &[u8], radix: u32) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut code: u32 = 0;
    for &digit in digits {
        let Some(value) = char::from(digit).to_digit(radix) else { return false };
        let Some(next) = code.checked_mul(radix).and_then(|c| c.checked_add(value)) else {
            return false;
        };
        code = next;
    }
    code != 0 && char::from_u32(code).is_some()
}

/// XML whitespace (`S` in the grammar).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Whether `name` is an XML name. Non-ASCII bytes are let through (any
/// letter of any script may start or continue a name).
fn is_name(name: &[u8]) -> bool {
    let start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80;
    match name.split_first() {
        Some((&first, rest)) => {
            start(first)
                && rest.iter().all(|&b| start(b) || b.is_ascii_digit() || b == b'-' || b == b'.')
        }
        None => false,
    }
}

/// The offset of the first non-whitespace byte of `bytes[start..end]`.
fn non_space(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    bytes.get(start..end)?.iter().position(|&b| !is_space(b)).map(|i| start + i)
}

/// `start..end` without leading and trailing whitespace.
fn trim(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let Some(first) = non_space(bytes, start, end) else { return (end, end) };
    let last = bytes[first..end].iter().rposition(|&b| !is_space(b)).map_or(end, |i| first + i + 1);
    (first, last)
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let len = bytes.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
    &bytes[..len]
}

/// Where `part`, a slice of `payload`, starts in it; `None` if it is not one.
fn offset_in(payload: &[u8], part: &[u8]) -> Option<usize> {
    let start = part.as_ptr().addr().checked_sub(payload.as_ptr().addr())?;
    (start.checked_add(part.len())? <= payload.len()).then_some(start)
}
