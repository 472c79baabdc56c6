//! The commands behind the `ctistream` binary. Each module is one command or a
//! piece they share; the binary only parses arguments and prints.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod background_write;
pub mod bench;
pub mod demo;
pub mod gen_out;
pub mod generate;
pub mod input;
pub mod inspect;
pub mod progress;
pub mod reduce;
pub mod rejects;
pub mod run;
