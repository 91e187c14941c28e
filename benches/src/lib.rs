//! Cochlea's measurement tools: the `score` command (accuracy over the dev corpus, side by side
//! with the peers installed on the machine).

pub mod pitch;
