//! `ctistream inspect`: decode files of events and report what was understood
//! and what was rejected, without reducing anything.

use std::sync::PoisonError;

use ctistream_core::Decoder;

use crate::input::{InputOptions, InputReport, KindCounter, RejectLog, read_frames};

/// Reads every input and decodes every record (on this thread).
///
/// # Errors
/// When an input cannot be opened or read, or the rejects output cannot be
/// written.
pub fn inspect(options: &InputOptions) -> anyhow::Result<InputReport> {
    let decoder = Decoder::with_options(options.format, options.decode.clone());
    let rejects = RejectLog::create(options.rejects_out.as_deref())?;
    let mut kinds = KindCounter::default();
    let mut report = read_frames(options, &rejects, |frame, source, _| {
        match decoder.decode(&frame.payload, frame.key.as_deref()) {
            Ok(event) => kinds.count(event.dialect(), event.kind()),
            Err(error) => {
                let name = crate::input::origin_name(&options.inputs[source as usize]);
                let mut log = rejects.lock().unwrap_or_else(PoisonError::into_inner);
                log.reject(
                    format!("{name}:{}", frame.line),
                    error.class(),
                    error.to_string(),
                    &frame.payload,
                );
            }
        }
        Ok(())
    })?;
    report.add_kinds(kinds.counts());
    RejectLog::finish(&rejects, &mut report)?;
    Ok(report)
}
