//! Bit-for-bit comparison of two state dicts, for the resume and thread tests.

use contrast_nn::state::StateDict;

/// Asserts that `a` and `b` hold the same tensor names and every value has the same bits;
/// `what` says which comparison failed.
pub fn assert_bit_equal(a: &StateDict<f32>, b: &StateDict<f32>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: tensor names"
    );
    for (name, x) in a {
        let same = x
            .iter()
            .zip(b[name].iter())
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same, "{what}: {name} differs");
    }
}
