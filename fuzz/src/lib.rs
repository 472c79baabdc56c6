//! Properties shared by the fuzz targets. Each target asserts something about
//! its input, not only that it does not crash.

pub mod ops;
pub mod reduce;

use std::io::Read;

use ctistream_core::{Decoder, Dialect, FrameReader};
pub use ctistream_core::{Format, Format as DecodeFormat, Framing};

/// Decoding `data` as `format` either gives an event of that dialect whose
/// accessors all work, or an error whose position lies inside the record.
/// With `Format::Auto`, a decoded event must decode the same way as its dialect.
/// A record a JSON dialect accepts is valid JSON (UTF-8 included) by the
/// validating scanner.
pub fn check_decode(format: Format, data: &[u8]) {
    match Decoder::new(format).decode(data, Some(b"t1:key")) {
        Ok(event) => {
            if matches!(event.dialect(), Dialect::Genesys | Dialect::Ors | Dialect::Sdk) {
                let valid = ctistream_core::validate_json(data, ctistream_core::DEFAULT_MAX_DEPTH);
                assert!(valid.is_ok(), "accepted as {:?}, but {valid:?}", event.dialect());
            }
            if let Some(dialect) = format.dialect() {
                assert_eq!(event.dialect(), dialect);
            } else {
                let direct = Decoder::new(event.dialect().into()).decode(data, Some(b"t1:key"));
                assert_eq!(direct.map(|e| e.kind()).ok(), Some(event.kind()));
            }
            let _ = (event.call_key(), event.agent_key(), event.tenant(), event.time());
            for (attr, _) in event.attrs() {
                let _ = (event.text(attr), event.int(attr), event.raw(attr));
            }
        }
        Err(error) => {
            assert!(error.offset() <= data.len(), "{error} past the end of {} bytes", data.len());
            assert!(!error.to_string().is_empty());
        }
    }
}

/// A framed record as compared: payload, key and line.
type Framed = (Vec<u8>, Option<Vec<u8>>, u64);

/// A reader that hands out its input a few bytes at a time.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Framing `data` gives the same records whether it arrives at once or a few
/// bytes at a time, and every record respects the limit.
pub fn check_framing(framing: Framing, data: &[u8]) {
    const LIMIT: usize = 256;
    let Some((&step, data)) = data.split_first() else { return };
    let collect = |reader: &mut dyn Read| -> Vec<Result<Framed, String>> {
        FrameReader::new(reader, framing)
            .with_max_record(LIMIT)
            .map(|frame| match frame {
                Ok(frame) => {
                    assert!(frame.payload.len() <= LIMIT);
                    Ok((frame.payload.to_vec(), frame.key.map(|k| k.to_vec()), frame.line))
                }
                Err(error) => Err(error.to_string()),
            })
            .collect()
    };
    let whole = collect(&mut &data[..]);
    let trickled = collect(&mut Trickle { data, step: usize::from(step % 16) + 1 });
    assert_eq!(whole, trickled);
}

/// Prints the records a script renders to, one `KEY<TAB>PAYLOAD` line each,
/// when `CTISTREAM_FUZZ_DUMP` is set: run a target binary on a crash file with
/// it to see the traffic (`fuzz/README.md`).
pub fn dump_if_asked(script: &ops::Script, numbering: ops::Numbering) {
    if std::env::var_os("CTISTREAM_FUZZ_DUMP").is_none() {
        return;
    }
    for record in script.render(numbering).records {
        eprintln!("{}\t{}", record.key.as_deref().unwrap_or(""), record.payload);
    }
}
