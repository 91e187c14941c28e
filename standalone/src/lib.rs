//! The `cochlea` command's library: audio file I/O, the analysis driver over the real-time
//! engine, output writers, the live host, the demo, and the exit codes of the command line.
#![deny(missing_docs)]

pub mod analyze;
pub mod audio;
pub mod batch;
pub mod demo;
pub mod exit;
pub mod live;
pub mod output;
pub mod progress;
pub mod settings;
