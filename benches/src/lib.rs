//! Cochlea's measurement tools: `score` (accuracy over the dev corpus, side by side with the
//! peers), `compare` (speed next to accuracy), `blocktimes` (the worst-case block report), and
//! the criterion benches.
#![deny(missing_docs)]

pub mod melody;
pub mod peers;
pub mod pitch;
pub mod stems;
