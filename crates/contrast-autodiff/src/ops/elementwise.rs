//! Elementwise ops: broadcasting binary arithmetic and unary functions.
//!
//! For `y = f(a, b)` broadcast to a common shape, `dL/da = reduce(dL/dy * df/da)` where
//! `reduce` sums over the axes along which `a` was repeated (see [`super::broadcast`]).
//! For `y = f(x)`, `dL/dx = dL/dy * f'(x)`, with `f'` written from `x` and `y` (e.g.
//! `exp' = y`, `tanh' = 1 - y^2`) so no value is recomputed.

use ndarray::{ArrayD, NdFloat, Zip};

use super::broadcast::{broadcast_shape, reduce_to_shape};
use crate::error::Result;
use crate::graph::{Backprop, Graph, Var};

/// A partial derivative of a binary op.
#[derive(Clone, Copy)]
enum Partial<A> {
    /// `+1` (add): the local gradient is `g` itself, passed on without a per-element call.
    Identity,
    /// `-1` (sub): the local gradient is `-g`.
    Negate,
    /// A function of `(a, b, y)`.
    Of(fn(A, A, A) -> A),
}

/// Arrays at least this long are mapped on rayon's pool; below it, splitting costs more
/// than it saves. Elementwise maps give the same bits however they are split.
pub(crate) const PARALLEL_MIN: usize = 1 << 15;

/// `x = f(x)` for every element, on rayon's pool for large arrays.
fn map_inplace<A: NdFloat>(x: &mut ArrayD<A>, f: impl Fn(A) -> A + Send + Sync) {
    if x.len() >= PARALLEL_MIN {
        x.par_mapv_inplace(f);
    } else {
        x.mapv_inplace(f);
    }
}

impl<A: NdFloat> Graph<A> {
    fn binary(
        &mut self,
        op: &'static str,
        a: Var,
        b: Var,
        // Generic, not a fn pointer, so the forward loop inlines and vectorizes `f`.
        f: impl Fn(A, A) -> A + Send + Sync,
        partials: [Partial<A>; 2],
    ) -> Result<Var> {
        let (va, vb) = (self.try_value(a)?, self.try_value(b)?);
        let shape = broadcast_shape(op, va.shape(), vb.shape())?;
        let zip = Zip::from(va.broadcast(shape.clone()).expect("checked"))
            .and(vb.broadcast(shape.clone()).expect("checked"));
        let apply = |&x: &A, &y: &A| f(x, y);
        let out = if zip.size() >= PARALLEL_MIN {
            zip.par_map_collect(apply)
        } else {
            zip.map_collect(apply)
        };
        let backward = move |bp: Backprop<'_, A>| {
            let Backprop {
                inputs,
                output,
                grad,
                needs,
            } = bp;
            let view = |i: usize| inputs[i].broadcast(shape.clone()).expect("checked");
            // The last input that needs a gradient of the full output shape takes `grad`'s
            // buffer and works in place; any other reads `grad` and reduces from a view.
            let owner = (0..2)
                .rev()
                .find(|&i| needs[i] && inputs[i].shape() == shape.as_slice());
            let mut grads = vec![None, None];
            for i in (0..2).filter(|&i| needs[i] && Some(i) != owner) {
                let mut local = match partials[i] {
                    Partial::Identity | Partial::Negate => {
                        reduce_to_shape(grad.view().into(), inputs[i].shape())
                    }
                    Partial::Of(d) => {
                        let zip = Zip::from(&grad).and(view(0)).and(view(1)).and(output);
                        let chain = |&g: &A, &p: &A, &q: &A, &o: &A| g * d(p, q, o);
                        let full = if zip.size() >= PARALLEL_MIN {
                            zip.par_map_collect(chain)
                        } else {
                            zip.map_collect(chain)
                        };
                        reduce_to_shape(full.into(), inputs[i].shape())
                    }
                };
                // Negating after the sum is exact: rounding is symmetric in sign.
                if let Partial::Negate = partials[i] {
                    map_inplace(&mut local, |g| -g);
                }
                grads[i] = Some(local);
            }
            if let Some(i) = owner {
                let mut local = grad;
                match partials[i] {
                    Partial::Identity => {}
                    Partial::Negate => map_inplace(&mut local, |g| -g),
                    Partial::Of(d) => {
                        let zip = Zip::from(&mut local).and(view(0)).and(view(1)).and(output);
                        let chain = |g: &mut A, &p: &A, &q: &A, &o: &A| *g *= d(p, q, o);
                        if zip.size() >= PARALLEL_MIN {
                            zip.par_for_each(chain);
                        } else {
                            zip.for_each(chain);
                        }
                    }
                }
                grads[i] = Some(local);
            }
            Ok(grads)
        };
        self.record(op, out, &[a, b], Box::new(backward))
    }

    /// `a + b` with numpy broadcasting.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        let one = Partial::Identity;
        self.binary("add", a, b, |x, y| x + y, [one, one])
    }

    /// `a - b` with numpy broadcasting.
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(
            "sub",
            a,
            b,
            |x, y| x - y,
            [Partial::Identity, Partial::Negate],
        )
    }

    /// `a * b` (elementwise) with numpy broadcasting.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(
            "mul",
            a,
            b,
            |x, y| x * y,
            [Partial::Of(|_, y, _| y), Partial::Of(|x, _, _| x)],
        )
    }

    /// `a / b` (elementwise) with numpy broadcasting.
    pub fn div(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(
            "div",
            a,
            b,
            |x, y| x / y,
            [
                Partial::Of(|_, y, _| y.recip()),
                Partial::Of(|_, y, o| -o / y),
            ],
        )
    }

    /// `f` applied elementwise; `df(x, y)` is `f'(x)` given `y = f(x)`.
    pub(crate) fn unary(
        &mut self,
        op: &'static str,
        x: Var,
        f: impl Fn(A) -> A + Send + Sync,
        df: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Result<Var> {
        let zip = Zip::from(self.try_value(x)?);
        let apply = |&v: &A| f(v);
        let out = if zip.size() >= PARALLEL_MIN {
            zip.par_map_collect(apply)
        } else {
            zip.map_collect(apply)
        };
        // One pass, in place in the incoming gradient's buffer (relu: `g` or `0` by sign).
        let backward = move |bp: Backprop<'_, A>| {
            let mut g = bp.grad;
            let zip = Zip::from(&mut g).and(bp.inputs[0]).and(bp.output);
            let chain = |g: &mut A, &x: &A, &y: &A| *g *= df(x, y);
            if zip.size() >= PARALLEL_MIN {
                zip.par_for_each(chain);
            } else {
                zip.for_each(chain);
            }
            Ok(vec![Some(g)])
        };
        self.record(op, out, &[x], Box::new(backward))
    }

    /// `-x`.
    pub fn neg(&mut self, x: Var) -> Result<Var> {
        self.unary("neg", x, |v| -v, |_, _| -A::one())
    }

    /// `x + c`.
    pub fn add_scalar(&mut self, x: Var, c: A) -> Result<Var> {
        self.unary("add_scalar", x, move |v| v + c, |_, _| A::one())
    }

    /// `x * c`.
    pub fn mul_scalar(&mut self, x: Var, c: A) -> Result<Var> {
        self.unary("mul_scalar", x, move |v| v * c, move |_, _| c)
    }

    /// `x^p` elementwise (NaN for negative `x` and non-integer `p`, as `powf`).
    pub fn powf(&mut self, x: Var, p: A) -> Result<Var> {
        self.unary(
            "powf",
            x,
            move |v| v.powf(p),
            move |v, _| p * v.powf(p - A::one()),
        )
    }

    /// `e^x`.
    pub fn exp(&mut self, x: Var) -> Result<Var> {
        self.unary("exp", x, A::exp, |_, y| y)
    }

    /// Natural log.
    pub fn log(&mut self, x: Var) -> Result<Var> {
        self.unary("log", x, A::ln, |v, _| v.recip())
    }

    /// Square root.
    pub fn sqrt(&mut self, x: Var) -> Result<Var> {
        self.unary("sqrt", x, A::sqrt, |_, y| (y + y).recip())
    }

    /// `|x|` (subgradient 0 at 0).
    pub fn abs(&mut self, x: Var) -> Result<Var> {
        self.unary("abs", x, A::abs, |v, _| sign(v))
    }

    /// `max(x, 0)` (subgradient 0 at 0).
    pub fn relu(&mut self, x: Var) -> Result<Var> {
        self.unary("relu", x, |v| v.max(A::zero()), |v, _| step(v, A::zero()))
    }

    /// `x` for `x > 0`, `slope * x` otherwise.
    pub fn leaky_relu(&mut self, x: Var, slope: A) -> Result<Var> {
        self.unary(
            "leaky_relu",
            x,
            move |v| if v > A::zero() { v } else { slope * v },
            move |v, _| if v > A::zero() { A::one() } else { slope },
        )
    }

    /// GELU, tanh form: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    pub fn gelu(&mut self, x: Var) -> Result<Var> {
        self.unary("gelu", x, |v| gelu_parts(v).0, |v, _| gelu_parts(v).1)
    }

    /// Hyperbolic tangent.
    pub fn tanh(&mut self, x: Var) -> Result<Var> {
        self.unary("tanh", x, A::tanh, |_, y| A::one() - y * y)
    }

    /// Logistic sigmoid `1 / (1 + e^-x)`, computed without overflow for large `|x|`.
    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        self.unary("sigmoid", x, sigmoid, |_, y| y * (A::one() - y))
    }
}

fn sign<A: NdFloat>(v: A) -> A {
    if v > A::zero() {
        A::one()
    } else if v < A::zero() {
        -A::one()
    } else {
        A::zero()
    }
}

fn step<A: NdFloat>(v: A, at: A) -> A {
    if v > at { A::one() } else { A::zero() }
}

fn sigmoid<A: NdFloat>(v: A) -> A {
    // e^-|x| never overflows; the two branches are the same function.
    let e = (-v.abs()).exp();
    if v >= A::zero() {
        (A::one() + e).recip()
    } else {
        e / (A::one() + e)
    }
}

/// GELU (tanh form) and its derivative at `v`.
fn gelu_parts<A: NdFloat>(v: A) -> (A, A) {
    let c = A::from(0.797_884_560_802_865_4).expect("float"); // sqrt(2/pi)
    let k = A::from(0.044_715).expect("float");
    let half = A::from(0.5).expect("float");
    let three = A::from(3.0).expect("float");
    let t = (c * (v + k * v * v * v)).tanh();
    let y = half * v * (A::one() + t);
    let dy =
        half * (A::one() + t) + half * v * (A::one() - t * t) * c * (A::one() + three * k * v * v);
    (y, dy)
}
