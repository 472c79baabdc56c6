//! ctistream-adapters: sources and sinks at both ends of the ctistream pipeline.
//!
//! Each transport is one cargo feature. This release has the `file` source:
//! [`file::FileSource`] opens a path (or `-` for standard input) and frames it
//! with [`ctistream_core::FrameReader`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "file")]
pub mod file;
