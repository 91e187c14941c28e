//! The `cochlea` command's library: audio file I/O, offline analysis over the engine, the demo
//! input, and the exit codes of the command line.
#![deny(missing_docs)]

pub mod analyze;
pub mod audio;
pub mod demo;
pub mod exit;
pub mod midi;
pub mod pitch_track;
