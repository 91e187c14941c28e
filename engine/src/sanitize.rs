//! Input hygiene: what the analyses and the audio path see is always finite and free of
//! denormals, whatever the host sends.

/// Largest magnitude passed on (+120 dBFS). Beyond it, squares summed over a window would lose
/// all precision; nothing musical is that loud.
pub const INPUT_LIMIT: f32 = 1e6;

/// Below this magnitude a sample is treated as zero (about -600 dBFS; also catches denormals).
const DENORMAL_LIMIT: f32 = 1e-30;

/// NaN and infinities become 0, denormals and near-denormals 0, the rest is clamped to
/// ±[`INPUT_LIMIT`].
#[inline]
pub fn sanitize(x: f32) -> f32 {
    if !x.is_finite() || x.abs() < DENORMAL_LIMIT {
        0.0
    } else {
        x.clamp(-INPUT_LIMIT, INPUT_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_become_harmless() {
        assert_eq!(sanitize(f32::NAN), 0.0);
        assert_eq!(sanitize(f32::INFINITY), 0.0);
        assert_eq!(sanitize(f32::NEG_INFINITY), 0.0);
        assert_eq!(sanitize(1e-40), 0.0);
        assert_eq!(sanitize(1e30), INPUT_LIMIT);
        assert_eq!(sanitize(-0.25), -0.25);
    }
}
