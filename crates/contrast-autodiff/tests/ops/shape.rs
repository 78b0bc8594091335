use contrast_autodiff::gradcheck::strategies::{array, shape};
use contrast_autodiff::{Error, Graph};
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

use crate::support::{assert_close, assert_grads, cases, forward};

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn transpose_and_permute(x in shape(4, 3).prop_flat_map(|s| { let n = s.len(); (array(s, -1.0, 1.0), Just((0..n).collect::<Vec<_>>()).prop_shuffle()) })) {
        let (x, perm) = x;
        let out = forward(std::slice::from_ref(&x), |g, v| g.permute(v[0], &perm));
        for (idx, &v) in out.indexed_iter() {
            let mut src = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                src[p] = idx[i];
            }
            prop_assert_eq!(v, x[IxDyn(&src)]);
        }
        assert_grads(std::slice::from_ref(&x), |g, v| g.permute(v[0], &perm))?;
        if x.ndim() == 2 {
            let t = forward(std::slice::from_ref(&x), |g, v| g.transpose(v[0]));
            assert_close(&t, &x.t().to_owned(), 0.0)?;
            assert_grads(std::slice::from_ref(&x), |g, v| g.transpose(v[0]))?;
        }
    }

    #[test]
    fn reshape_keeps_row_major_order(x in shape(3, 4).prop_flat_map(|s| array(s, -1.0, 1.0))) {
        let n = x.len();
        let out = forward(std::slice::from_ref(&x), |g, v| g.reshape(v[0], &[n]));
        prop_assert_eq!(out.iter().cloned().collect::<Vec<_>>(), x.iter().cloned().collect::<Vec<_>>());
        assert_grads(std::slice::from_ref(&x), |g, v| { let p = g.permute(v[0], &(0..x.ndim()).rev().collect::<Vec<_>>())?; g.reshape(p, &[1, n]) })?;
    }

    #[test]
    fn concat_stack_narrow(
        (a, b, axis) in shape(3, 3).prop_flat_map(|s| {
            let n = s.len();
            (Just(s), 0..n, 1usize..4)
        }).prop_flat_map(|(s, axis, len)| {
            let mut t = s.clone();
            t[axis] = len;
            (array(s, -1.0, 1.0), array(t, -1.0, 1.0), Just(axis))
        }),
    ) {
        let cat = forward(&[a.clone(), b.clone()], |g, v| g.concat(&[v[0], v[1]], axis));
        let total = a.shape()[axis] + b.shape()[axis];
        prop_assert_eq!(cat.shape()[axis], total);
        for i in 0..total {
            let expect = if i < a.shape()[axis] { a.index_axis(Axis(axis), i) } else { b.index_axis(Axis(axis), i - a.shape()[axis]) };
            prop_assert_eq!(cat.index_axis(Axis(axis), i), expect);
        }
        assert_grads(&[a.clone(), b.clone()], |g, v| g.concat(&[v[0], v[1], v[0]], axis))?;
        let start = a.shape()[axis] / 2;
        let len = a.shape()[axis] - start;
        let nar = forward(std::slice::from_ref(&a), |g, v| g.narrow(v[0], axis, start, len));
        for i in 0..len {
            prop_assert_eq!(nar.index_axis(Axis(axis), i), a.index_axis(Axis(axis), start + i));
        }
        assert_grads(std::slice::from_ref(&a), |g, v| g.narrow(v[0], axis, start, len))?;
        let st = forward(&[a.clone(), a.mapv(|v| v * 2.0)], |g, v| g.stack(&[v[0], v[1]], axis));
        prop_assert_eq!(st.index_axis(Axis(axis), 1), a.mapv(|v| v * 2.0));
        assert_grads(&[a.clone(), a.mapv(|v| -v)], |g, v| g.stack(&[v[0], v[1]], axis))?;
    }

    #[test]
    fn index_select_gathers_and_scatters(x in (1usize..5, 1usize..4).prop_flat_map(|(r, c)| array(vec![r, c], -1.0, 1.0)), picks in proptest::collection::vec(0usize..100, 1..7)) {
        let rows: Vec<usize> = picks.iter().map(|p| p % x.shape()[0]).collect();
        let out = forward(std::slice::from_ref(&x), |g, v| g.index_select(v[0], &rows));
        for (i, &r) in rows.iter().enumerate() {
            prop_assert_eq!(out.index_axis(Axis(0), i), x.index_axis(Axis(0), r));
        }
        assert_grads(std::slice::from_ref(&x), |g, v| g.index_select(v[0], &rows))?;
    }
}

#[test]
fn shape_errors_name_the_op() {
    let mut g = Graph::<f64>::new();
    let a = g.input(ArrayD::zeros(IxDyn(&[2, 3])));
    let b = g.input(ArrayD::zeros(IxDyn(&[3, 3])));
    assert!(matches!(
        g.concat(&[a, b], 1),
        Err(Error::Shape { op: "concat", .. })
    ));
    assert!(matches!(
        g.stack(&[a, b], 0),
        Err(Error::Shape { op: "stack", .. })
    ));
    assert!(matches!(
        g.reshape(a, &[4]),
        Err(Error::Shape { op: "reshape", .. })
    ));
    assert!(matches!(
        g.narrow(a, 1, 2, 2),
        Err(Error::Shape { op: "narrow", .. })
    ));
    assert!(matches!(
        g.index_select(a, &[2]),
        Err(Error::Shape {
            op: "index_select",
            ..
        })
    ));
    assert!(matches!(
        g.permute(a, &[0, 0]),
        Err(Error::Axis { op: "permute", .. })
    ));
    let c = g.input(ArrayD::zeros(IxDyn(&[2, 3, 4])));
    assert!(matches!(
        g.transpose(c),
        Err(Error::Shape {
            op: "transpose",
            ..
        })
    ));
}
