//! The field's standard scores, implemented as mir_eval defines them, so that Cochlea's figures
//! are comparable with published ones. Pure functions over slices; they allocate (they are for
//! evaluation, not for the audio thread).

pub mod melody;
pub mod onset;
pub mod separation;
pub mod transcription;
