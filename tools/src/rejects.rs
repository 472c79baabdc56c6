//! The rejects output: one NDJSON line per record that could not be decoded,
//! `{"origin":"file:line","reason":"…","raw":"…"}` (PROTOCOLS.md).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use ctistream_adapters::file::sync_written;
use ctistream_core::write_json_string;

/// How much of a rejected record is kept in `raw`.
pub const RAW_LIMIT: usize = 4096;

/// Appends one rejects line: origin, reason, and the record cut at
/// [`RAW_LIMIT`] bytes.
pub fn write_reject(out: &mut Vec<u8>, origin: &str, reason: &str, raw: &[u8]) {
    out.extend_from_slice(b"{\"origin\":");
    write_json_string(out, origin.as_bytes());
    out.extend_from_slice(b",\"reason\":");
    write_json_string(out, reason.as_bytes());
    out.extend_from_slice(b",\"raw\":");
    write_json_string(out, &raw[..raw.len().min(RAW_LIMIT)]);
    out.extend_from_slice(b"}\n");
}

/// Writes rejects as NDJSON.
#[derive(Debug)]
pub struct RejectsWriter {
    out: BufWriter<File>,
    line: Vec<u8>,
    written: u64,
}

impl RejectsWriter {
    /// Creates (or truncates) the file at `path`.
    ///
    /// # Errors
    /// When the file cannot be created; the message names the path.
    pub fn create(path: &Path) -> anyhow::Result<RejectsWriter> {
        let file = File::create(path)
            .with_context(|| format!("cannot create rejects output {}", path.display()))?;
        Ok(RejectsWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            line: Vec::new(),
            written: 0,
        })
    }

    /// Writes one reject. `origin` is `file:line`, `topic/partition@offset` or
    /// `peer:frame`; `raw` is cut at [`RAW_LIMIT`] bytes.
    ///
    /// # Errors
    /// When writing fails.
    pub fn write(&mut self, origin: &str, reason: &str, raw: &[u8]) -> io::Result<()> {
        self.line.clear();
        write_reject(&mut self.line, origin, reason, raw);
        self.written += 1;
        self.out.write_all(&self.line)
    }

    /// Rejects written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and syncs the file.
    ///
    /// # Errors
    /// When flushing or syncing fails.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        sync_written(self.out.get_ref())
    }
}
