//! The JSON summary written beside each input's outputs (`summary.json`): what was analysed,
//! with which settings, each output's latency, event counts and durations. The README lists the
//! fields ("Output formats").

use std::collections::BTreeMap;
use std::path::Path;

use cochlea_engine::{Engine, Output};
use serde_json::{json, Value};

use super::{event_kind, Emitted, OutputError, Staging};

/// Latency of every engine output, in samples and milliseconds.
pub fn latencies(engine: &Engine) -> Value {
    let sr = engine.config().sample_rate;
    let one = |o: Output| {
        let n = engine.latency_samples(o);
        json!({ "samples": n, "ms": n as f64 * 1e3 / sr })
    };
    json!({
        "audio": one(Output::Audio),
        "onsets": one(Output::Onsets),
        "pitch": one(Output::Pitch),
        "melody": one(Output::Melody),
        "notes": one(Output::Notes),
    })
}

/// Events counted by kind (see [`event_kind`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventCounts(BTreeMap<&'static str, u64>);

impl EventCounts {
    /// Counts one event.
    pub fn add(&mut self, e: &Emitted) {
        *self.0.entry(event_kind(&e.event)).or_default() += 1;
    }

    /// Events of `kind` counted so far.
    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }

    /// The counts, and the events the engine dropped because its queue was full.
    pub fn to_json(&self, dropped: u64) -> Value {
        let mut m: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        m.entry("onset").or_insert(json!(0));
        m.insert("dropped".into(), json!(dropped));
        Value::Object(m)
    }
}

/// The `cochlea` section: version and subcommand.
pub fn tool(command: &str) -> Value {
    json!({ "version": env!("CARGO_PKG_VERSION"), "command": command })
}

/// Stages `summary` (pretty JSON, one trailing newline) as `path`.
pub fn write(staging: &mut Staging, path: &Path, summary: &Value) -> Result<(), OutputError> {
    let mut f = staging.create(path)?;
    let mut text = serde_json::to_string_pretty(summary).expect("summary serialises");
    text.push('\n');
    f.write_all(text.as_bytes())?;
    f.finish()
}
