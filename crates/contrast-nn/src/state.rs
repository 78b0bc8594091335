//! Named tensors (a "state dict") and the check that one fits what a model expects.
//!
//! Names are PyTorch-style dotted paths (`encoder.layers.0.weight`,
//! `encoder.layers.1.running_mean`); a map keeps them sorted so files are deterministic.

use std::collections::BTreeMap;

use ndarray::ArrayD;

use crate::error::{Error, Result, ShapeMismatch};

/// Tensors by dotted name.
pub type StateDict<A> = BTreeMap<String, ArrayD<A>>;

/// Join a prefix and a name with a dot (`"" + "w" = "w"`, `"enc" + "w" = "enc.w"`).
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Every entry of `dict` with `prefix.` in front of its name.
pub fn with_prefix<A>(prefix: &str, dict: StateDict<A>) -> StateDict<A> {
    dict.into_iter()
        .map(|(k, v)| (join_name(prefix, &k), v))
        .collect()
}

/// The entries whose names start with `prefix.`, with the prefix removed (the rest is dropped).
pub fn strip_prefix<A: Clone>(prefix: &str, dict: &StateDict<A>) -> StateDict<A> {
    let p = format!("{prefix}.");
    dict.iter()
        .filter_map(|(k, v)| k.strip_prefix(&p).map(|s| (s.to_string(), v.clone())))
        .collect()
}

/// Check that `found` has exactly the names of `expected` (name, shape), with the same shapes.
///
/// Returns one [`Error::StateMismatch`] listing every missing name, every unexpected name and
/// every shape mismatch, so a user sees the whole problem at once.
pub fn check_names_and_shapes<A>(
    expected: &[(String, Vec<usize>)],
    found: &StateDict<A>,
) -> Result<()> {
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    for (name, shape) in expected {
        match found.get(name) {
            None => missing.push(name.clone()),
            Some(a) if a.shape() != shape.as_slice() => mismatched.push(ShapeMismatch {
                name: name.clone(),
                expected: shape.clone(),
                found: a.shape().to_vec(),
            }),
            Some(_) => {}
        }
    }
    let known: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let unexpected: Vec<String> = found
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    if missing.is_empty() && unexpected.is_empty() && mismatched.is_empty() {
        Ok(())
    } else {
        Err(Error::StateMismatch {
            missing,
            unexpected,
            mismatched,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn names_join_and_strip() {
        assert_eq!(join_name("", "w"), "w");
        assert_eq!(join_name("enc.layers.0", "weight"), "enc.layers.0.weight");
        let mut d: StateDict<f32> = StateDict::new();
        d.insert("w".into(), ArrayD::zeros(IxDyn(&[2])));
        let p = with_prefix("model", d);
        assert!(p.contains_key("model.w"));
        assert!(strip_prefix("model", &p).contains_key("w"));
        assert!(strip_prefix("mod", &p).is_empty());
    }

    #[test]
    fn mismatch_lists_everything() {
        let mut d: StateDict<f32> = StateDict::new();
        d.insert("a".into(), ArrayD::zeros(IxDyn(&[2, 3])));
        d.insert("b".into(), ArrayD::zeros(IxDyn(&[4])));
        d.insert("extra".into(), ArrayD::zeros(IxDyn(&[1])));
        let want = vec![
            ("a".to_string(), vec![2, 3]),
            ("b".to_string(), vec![5]),
            ("c".to_string(), vec![1]),
        ];
        let err = check_names_and_shapes(&want, &d).unwrap_err();
        let msg = err.to_string();
        match err {
            Error::StateMismatch {
                missing,
                unexpected,
                mismatched,
            } => {
                assert_eq!(missing, vec!["c"]);
                assert_eq!(unexpected, vec!["extra"]);
                assert_eq!(mismatched.len(), 1);
                assert_eq!(mismatched[0].name, "b");
                assert_eq!(
                    (mismatched[0].expected.clone(), mismatched[0].found.clone()),
                    (vec![5], vec![4])
                );
            }
            e => panic!("wrong error {e}"),
        }
        assert!(msg.contains("b (model [5], file [4])"), "{msg}");
        d.remove("extra");
        d.insert("b".into(), ArrayD::zeros(IxDyn(&[5])));
        d.insert("c".into(), ArrayD::zeros(IxDyn(&[1])));
        check_names_and_shapes(&want, &d).unwrap();
    }
}
