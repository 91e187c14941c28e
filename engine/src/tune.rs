//! Development-only overrides of internal constants, for parameter sweeps with the scoring
//! command. Only with the `tune` feature (never in a shipped build): `CT_<NAME>=value` in the
//! environment replaces the default, read once at construction.

/// The default, or with the `tune` feature the value of `CT_<name>` if set.
#[inline]
pub(crate) fn get(name: &str, default: f64) -> f64 {
    #[cfg(feature = "tune")]
    {
        if let Some(v) = std::env::var(format!("CT_{name}"))
            .ok()
            .and_then(|v| v.parse().ok())
        {
            return v;
        }
    }
    let _ = name;
    default
}
