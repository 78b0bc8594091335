//! The final evaluation of a run as a table: one row per kind of feature (the trained
//! encoder, the same encoder at its random initialisation, and the task's baselines such as
//! raw pixels), one column per probe, so it shows what self-supervision bought.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Row name of the trained encoder's features.
pub const TRAINED: &str = "trained encoder";
/// Row name of the randomly initialised encoder's features.
pub const RANDOM: &str = "random encoder";

/// One kind of feature and its score under every probe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// What the features are (`trained encoder`, `random encoder`, `raw pixels`, ...).
    pub features: String,
    /// One value per column of the report.
    pub values: Vec<f64>,
}

/// Everything the final evaluation measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The probes, e.g. `kNN k=200`, `kNN k=20`, `linear probe`.
    pub columns: Vec<String>,
    /// The trained encoder first, then the random encoder, then the baselines.
    pub rows: Vec<Row>,
    /// Further single figures (e.g. `alignment`, `uniformity` of the trained features).
    pub extras: BTreeMap<String, f64>,
}

impl Report {
    /// The value of `features` under `column`.
    pub fn get(&self, features: &str, column: &str) -> Option<f64> {
        let c = self.columns.iter().position(|name| name == column)?;
        let row = self.rows.iter().find(|r| r.features == features)?;
        row.values.get(c).copied()
    }

    /// The trained encoder's row.
    pub fn trained(&self) -> &[f64] {
        self.rows
            .iter()
            .find(|r| r.features == TRAINED)
            .map_or(&[], |r| &r.values)
    }

    /// The table as text, as `contrast train` prints it.
    pub fn table(&self) -> String {
        let width = self
            .columns
            .iter()
            .map(|c| c.len().max(10) + 2)
            .collect::<Vec<_>>();
        let name_width = self
            .rows
            .iter()
            .map(|r| r.features.len())
            .max()
            .unwrap_or(0)
            .max(8)
            + 2;
        let mut text = format!("{:<name_width$}", "features");
        for (c, w) in self.columns.iter().zip(&width) {
            text.push_str(&format!("{c:>w$}"));
        }
        text.push('\n');
        for row in &self.rows {
            text.push_str(&format!("{:<name_width$}", row.features));
            for (v, w) in row.values.iter().zip(&width) {
                text.push_str(&format!("{v:>w$.4}"));
            }
            text.push('\n');
        }
        let extras: Vec<String> = self
            .extras
            .iter()
            .map(|(k, v)| format!("{k} {v:.4}"))
            .collect();
        if !extras.is_empty() {
            text.push_str(&extras.join("  "));
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            columns: vec!["kNN k=200".into(), "linear probe".into()],
            rows: vec![
                Row {
                    features: TRAINED.into(),
                    values: vec![0.9, 0.95],
                },
                Row {
                    features: "raw pixels".into(),
                    values: vec![0.8, 0.85],
                },
            ],
            extras: BTreeMap::from([("alignment".to_string(), 0.25)]),
        }
    }

    #[test]
    fn values_are_found_by_row_and_column() {
        let r = report();
        assert_eq!(r.get("raw pixels", "linear probe"), Some(0.85));
        assert_eq!(r.get(TRAINED, "kNN k=200"), Some(0.9));
        assert_eq!(r.get("nothing", "kNN k=200"), None);
        assert_eq!(r.trained(), &[0.9, 0.95]);
    }

    #[test]
    fn the_table_lists_every_row_and_extra() {
        let text = report().table();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("kNN k=200") && lines[0].contains("linear probe"));
        assert!(lines[1].starts_with("trained encoder") && lines[1].ends_with("0.9500"));
        assert!(lines[2].starts_with("raw pixels") && lines[2].contains("0.8000"));
        assert_eq!(lines[3], "alignment 0.2500");
    }

    #[test]
    fn json_round_trips() {
        let r = report();
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), r);
    }
}
