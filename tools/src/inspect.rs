//! `ctistream inspect`: decode files of events and report what was understood
//! and what was rejected, without reducing anything.

use crate::input::{InputOptions, InputReport, read_events};

/// Reads every input and decodes every record.
///
/// # Errors
/// When an input cannot be opened or read, or the rejects output cannot be
/// written.
pub fn inspect(options: &InputOptions) -> anyhow::Result<InputReport> {
    read_events(options, |_, _| Ok(()))
}
