//! Shared helpers for the integration tests and the scoring commands: locating corpus items,
//! reading their ground truth, test signals, and running the engine with any block pattern.
#![deny(missing_docs)]

pub mod corpus;
pub mod signals;
pub mod stems;
