//! The extension point: an op whose forward value and backward rule come from outside.
//!
//! A caller computes the output from the input values itself, then hands the graph the
//! output and a [`CustomOp`] that maps `dL/d output` to `dL/d input`. This is how
//! `contrast-losses` adds its fused losses and `contrast-gpu` its kernels.
//!
//! ```
//! use contrast_autodiff::{CustomOp, Graph, Result};
//! use ndarray::{ArrayD, IxDyn};
//!
//! /// y = x^3, dy/dx = 3 x^2.
//! struct Cube;
//! impl CustomOp<f64> for Cube {
//!     fn name(&self) -> &str { "cube" }
//!     fn backward(&self, inputs: &[&ArrayD<f64>], _output: &ArrayD<f64>, grad: &ArrayD<f64>)
//!         -> Result<Vec<Option<ArrayD<f64>>>> {
//!         Ok(vec![Some(grad * &inputs[0].mapv(|x| 3.0 * x * x))])
//!     }
//! }
//!
//! let mut g = Graph::<f64>::new();
//! let x = g.param(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0, -2.0]).unwrap());
//! let y = g.value(x).mapv(|v| v * v * v);
//! let y = g.custom(&[x], y, Box::new(Cube))?;
//! let loss = g.sum_all(y)?;
//! g.backward(loss)?;
//! assert_eq!(g.grad(x).unwrap().as_slice().unwrap(), &[3.0, 12.0]);
//! # Ok::<(), contrast_autodiff::Error>(())
//! ```

use ndarray::{ArrayD, NdFloat};

use crate::error::{Error, Result};
use crate::graph::{Backprop, Graph, Var};

/// A user-supplied backward rule for a value computed outside the graph.
pub trait CustomOp<A>: Send + Sync {
    /// Name used in error messages.
    fn name(&self) -> &str;
    /// Given the input values, the output value and `dL/d output`, returns `dL/d input` for
    /// each input, in order (`None` where the input needs no gradient). Each gradient must
    /// have its input's shape.
    fn backward(
        &self,
        inputs: &[&ArrayD<A>],
        output: &ArrayD<A>,
        grad_output: &ArrayD<A>,
    ) -> Result<Vec<Option<ArrayD<A>>>>;
}

impl<A: NdFloat> Graph<A> {
    /// Records `output` as a function of `inputs` whose backward rule is `op`.
    pub fn custom(
        &mut self,
        inputs: &[Var],
        output: ArrayD<A>,
        op: Box<dyn CustomOp<A>>,
    ) -> Result<Var> {
        self.values(inputs)?;
        if output.iter().any(|v| v.is_nan()) {
            return Err(Error::Op {
                op: op.name().to_string(),
                msg: "output contains NaN".into(),
            });
        }
        let backward = move |bp: Backprop<'_, A>| {
            let grads = op.backward(bp.inputs, bp.output, &bp.grad)?;
            if grads.len() != bp.inputs.len() {
                return Err(Error::Op {
                    op: op.name().to_string(),
                    msg: format!(
                        "backward returned {} gradients for {} inputs",
                        grads.len(),
                        bp.inputs.len()
                    ),
                });
            }
            for (g, x) in grads.iter().zip(bp.inputs) {
                if let Some(g) = g.as_ref().filter(|g| g.shape() != x.shape()) {
                    return Err(Error::Op {
                        op: op.name().to_string(),
                        msg: format!(
                            "gradient of shape {:?} for an input of shape {:?}",
                            g.shape(),
                            x.shape()
                        ),
                    });
                }
            }
            Ok(grads)
        };
        self.record("custom", output, inputs, Box::new(backward))
    }
}
