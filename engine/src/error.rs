//! Errors, split by phase: [`ConfigError`] at construction, small `Copy` values at run time.

/// Why an [`EngineConfig`](crate::EngineConfig) was refused by [`Engine::new`](crate::Engine::new).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The sample rate is outside 8 kHz to 192 kHz.
    #[error("sample rate {0} Hz is not supported (8000 to 192000 Hz)")]
    SampleRate(f64),
    /// The channel count is not 1 or 2.
    #[error("{0} channels requested; Cochlea processes 1 or 2")]
    Channels(usize),
    /// The maximum block size is zero or larger than [`MAX_BLOCK_SIZE`](crate::MAX_BLOCK_SIZE).
    #[error("max block size {0} is not supported (1 to {max})", max = crate::MAX_BLOCK_SIZE)]
    MaxBlockSize(usize),
    /// The event queue capacity is zero or above [`MAX_EVENT_CAPACITY`](crate::MAX_EVENT_CAPACITY).
    #[error("event queue capacity {0} is not supported (1 to {max})", max = crate::MAX_EVENT_CAPACITY)]
    EventCapacity(usize),
    /// A numeric setting is outside its range (or not a number).
    #[error("{name} = {value} is out of range ({min} to {max} {unit})")]
    OutOfRange {
        /// The setting's name, as spelled in the config struct.
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// Smallest accepted value.
        min: f64,
        /// Largest accepted value.
        max: f64,
        /// Unit of the three numbers.
        unit: &'static str,
    },
    /// Two settings contradict each other.
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// A run-time parameter change that was refused; the previous value stays in force.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The value is outside the parameter's range (or not a number).
    #[error("{name} = {value} is out of range ({min} to {max})")]
    OutOfRange {
        /// The parameter's name.
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// Smallest accepted value.
        min: f64,
        /// Largest accepted value.
        max: f64,
    },
}

/// Why a call to [`Engine::process`](crate::Engine::process) did nothing.
///
/// Returned by value, never formatted on the audio thread; the engine's state is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// The block is longer than the configured maximum.
    #[error("block of {len} samples exceeds the configured maximum of {max}")]
    BlockTooLong {
        /// Length of the block given.
        len: usize,
        /// The configured maximum block size.
        max: usize,
    },
    /// The input or output slices do not match the configured channel count, or their lengths differ.
    #[error("buffer layout mismatch: expected {expected} channels of equal length")]
    Layout {
        /// The configured channel count.
        expected: usize,
    },
    /// [`Engine::process_stems`](crate::Engine::process_stems) was called on an engine built
    /// without separation, or with a [`StemOutputs`](crate::separation::StemOutputs) of another
    /// channel count or too small for the block.
    #[error("stems requested but separation is off or the stem storage does not fit the block")]
    Stems,
}

/// Checks that `value` lies in `min..=max` (and is not NaN), naming the setting if not.
pub(crate) fn check_range(
    name: &'static str,
    value: f64,
    min: f64,
    max: f64,
    unit: &'static str,
) -> Result<(), ConfigError> {
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value,
            min,
            max,
            unit,
        })
    }
}
