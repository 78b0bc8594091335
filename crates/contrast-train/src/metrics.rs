//! Per-epoch metrics of a run, written as JSON lines (`metrics.jsonl`, one object per epoch).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// The task's periodic evaluation (e.g. `kNN k=200` for images), on epochs where it ran.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub monitor: BTreeMap<String, f64>,
    /// Training samples per second over the epoch (views are counted as samples' pairs).
    pub samples_per_second: f64,
    /// Wall-clock seconds of the epoch, evaluation included.
    pub seconds: f64,
}

/// The JSON-lines text of a run's metrics so far.
pub fn to_json_lines(epochs: &[EpochMetrics]) -> String {
    let mut text = String::new();
    for m in epochs {
        text.push_str(&serde_json::to_string(m).expect("metrics serialise"));
        text.push('\n');
    }
    text
}

/// Parses the JSON-lines text written by [`to_json_lines`].
pub fn from_json_lines(text: &str) -> Result<Vec<EpochMetrics>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_round_trip() {
        let m = vec![
            EpochMetrics {
                epoch: 1,
                loss: 5.5,
                lr: 0.1,
                monitor: BTreeMap::new(),
                samples_per_second: 900.0,
                seconds: 2.0,
            },
            EpochMetrics {
                epoch: 2,
                loss: 5.0,
                lr: 0.05,
                monitor: BTreeMap::from([("kNN k=200".to_string(), 0.9)]),
                samples_per_second: 950.0,
                seconds: 2.1,
            },
        ];
        let text = to_json_lines(&m);
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains("\"monitor\":{\"kNN k=200\":0.9}")
        );
        assert_eq!(from_json_lines(&text).unwrap(), m);
    }
}
