//! The element types a collective moves: `f32` and `f64` (embeddings, gradients, batch
//! statistics) and `u64` (labels, counts). The trait is sealed: the transports know how to
//! move exactly these three.

use std::fmt::Debug;

/// A buffer of one of the element types, type-erased (the thread group's mailbox holds
/// these).
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// `f32` values.
    F32(Vec<f32>),
    /// `f64` values.
    F64(Vec<f64>),
    /// `u64` values.
    U64(Vec<u64>),
}

pub(crate) mod sealed {
    use super::Payload;

    /// What the transports need of an element; not implementable outside this crate.
    pub trait Sealed: Sized {
        /// Zero, to size receive buffers with.
        const ZERO: Self;
        /// Wraps a buffer for the thread group's mailbox.
        fn wrap(values: Vec<Self>) -> Payload;
        /// The buffer inside a payload of this type (`None` for another type).
        fn unwrap(payload: &Payload) -> Option<&[Self]>;
        /// `a + b`, or `None` on integer overflow (floats never fail).
        fn checked_add(a: Self, b: Self) -> Option<Self>;
    }

    /// With the `mpi` feature, every element is also an MPI datatype.
    #[cfg(feature = "mpi")]
    pub trait Transportable: mpi::traits::Equivalence {}
    #[cfg(feature = "mpi")]
    impl<T: mpi::traits::Equivalence> Transportable for T {}

    /// Without the `mpi` feature there is nothing to require.
    #[cfg(not(feature = "mpi"))]
    pub trait Transportable {}
    #[cfg(not(feature = "mpi"))]
    impl<T> Transportable for T {}
}

/// An element type of a collective: `f32`, `f64` or `u64`.
pub trait Element:
    sealed::Sealed + sealed::Transportable + Copy + Debug + PartialEq + Send + Sync + 'static
{
    /// Size of one element in bytes (what the byte counters count).
    const BYTES: usize;
    /// Name of the type (`"f32"`, ...), for messages.
    const NAME: &'static str;
    /// Code of the type in the operation header, so that ranks calling with different
    /// element types get [`crate::Error::Mismatch`] instead of garbage.
    const CODE: u64;
}

macro_rules! element {
    ($t:ty, $variant:ident, $code:expr, $add:expr) => {
        impl sealed::Sealed for $t {
            const ZERO: Self = 0 as $t;
            fn wrap(values: Vec<Self>) -> Payload {
                Payload::$variant(values)
            }
            fn unwrap(payload: &Payload) -> Option<&[Self]> {
                match payload {
                    Payload::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn checked_add(a: Self, b: Self) -> Option<Self> {
                $add(a, b)
            }
        }
        impl Element for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            const NAME: &'static str = stringify!($t);
            const CODE: u64 = $code;
        }
    };
}

element!(f32, F32, 1, |a: f32, b: f32| Some(a + b));
element!(f64, F64, 2, |a: f64, b: f64| Some(a + b));
element!(u64, U64, 3, u64::checked_add);

/// Element-wise sum of `parts` (one buffer per rank, all of `out.len()` elements), added in
/// rank order: `out[i] = ((p_0[i] + p_1[i]) + p_2[i]) + ...`.
///
/// Floating-point addition is not associative, so the order is part of the result; fixing
/// it to rank order makes the sum a function of the inputs alone, the same bits on every
/// rank and in every run. Starting from rank 0's value (not from zero) keeps a world of one
/// exact, signed zeros included.
pub(crate) fn sum_in_rank_order<'a, T: Element>(
    parts: impl IntoIterator<Item = &'a [T]>,
    out: &mut [T],
    op: &'static str,
) -> crate::Result<()> {
    let mut parts = parts.into_iter();
    if let Some(first) = parts.next() {
        out.copy_from_slice(first);
    }
    for part in parts {
        for (o, &p) in out.iter_mut().zip(part) {
            *o = T::checked_add(*o, p).ok_or_else(|| crate::Error::Overflow {
                op,
                what: format!("a {} sum", T::NAME),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_order_sum_is_the_left_fold() {
        // 1e16 + 1 - 1e16 is 0 in f64 when summed left to right, 1 in another order.
        let parts: [&[f64]; 3] = [&[1e16], &[1.0], &[-1e16]];
        let mut out = [0.0];
        sum_in_rank_order(parts, &mut out, "test").unwrap();
        assert_eq!(out, [0.0]);
        let parts: [&[f64]; 3] = [&[1e16], &[-1e16], &[1.0]];
        sum_in_rank_order(parts, &mut out, "test").unwrap();
        assert_eq!(out, [1.0]);
    }

    #[test]
    fn one_part_is_copied_exactly() {
        let parts: [&[f32]; 1] = [&[-0.0, 1.5]];
        let mut out = [7.0, 7.0];
        sum_in_rank_order(parts, &mut out, "test").unwrap();
        assert!(out[0] == 0.0 && out[0].is_sign_negative());
        assert_eq!(out[1], 1.5);
    }

    #[test]
    fn integer_overflow_is_an_error() {
        let parts: [&[u64]; 2] = [&[u64::MAX], &[1]];
        let mut out = [0];
        let err = sum_in_rank_order(parts, &mut out, "all_reduce_sum").unwrap_err();
        assert!(matches!(err, crate::Error::Overflow { .. }), "{err}");
    }

    #[test]
    fn payloads_round_trip_and_refuse_other_types() {
        let p = <f32 as sealed::Sealed>::wrap(vec![1.0, 2.0]);
        assert_eq!(
            <f32 as sealed::Sealed>::unwrap(&p),
            Some(&[1.0f32, 2.0][..])
        );
        assert_eq!(<f64 as sealed::Sealed>::unwrap(&p), None);
    }
}
