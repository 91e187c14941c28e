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
    #[error(
        "{name} = {} is out of range ({} to {}{})",
        Num(*.value),
        Num(*.min),
        Num(*.max),
        Unit(.unit)
    )]
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
    #[error(
        "{name} = {} is out of range ({} to {})",
        Num(*.value),
        Num(*.min),
        Num(*.max)
    )]
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

/// A number as a user typed it: a value that came from an `f32` setting is shown as that `f32`
/// (`0.2`, not `0.20000000298023224`).
struct Num(f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let narrow = self.0 as f32;
        if narrow as f64 == self.0 {
            write!(f, "{narrow}")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A unit after a number: a space and the unit, or nothing.
struct Unit<'a>(&'a str);

impl std::fmt::Display for Unit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " {}", self.0)
        }
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn range_errors_show_numbers_as_typed_and_no_empty_unit() {
        let e = check_range("separation.harmonic_margin", 0.2f32 as f64, 1.0, 8.0, "");
        assert_eq!(
            e.unwrap_err().to_string(),
            "separation.harmonic_margin = 0.2 is out of range (1 to 8)"
        );
        let e = check_range("pitch.fmin_hz", 10.0, 20.0, 1000.0, "Hz");
        assert_eq!(
            e.unwrap_err().to_string(),
            "pitch.fmin_hz = 10 is out of range (20 to 1000 Hz)"
        );
    }
}
