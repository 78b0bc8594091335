//! Row-sparse gradients: the gradient of a table of which a step read only a few rows.
//!
//! A table `W` of shape `(n_rows, dim)` read by [`Graph::embedding_bag`](crate::Graph::embedding_bag)
//! gets a gradient that is zero outside the rows the step looked up. [`RowSparse`] keeps
//! only those rows: sorted, unique row ids `r_1 < r_2 < ... < r_k` and a `(k, dim)` matrix
//! `V`, standing for the dense `(n_rows, dim)` matrix `D` with
//!
//! ```text
//! D[r_j] = V[j]   (j = 1..k),      D[r] = 0   for every other row r.
//! ```
//!
//! It is always *coalesced*: a row appears once, its contributions summed. Optimizers rely
//! on that: Adam's update is not linear in the gradient, so the two halves of one row's
//! gradient must be summed before the update, not applied one after the other (the reason
//! `torch.optim.SparseAdam` calls `coalesce()` first).
//!
//! [`Grad`] is what a param accumulates over backward passes: dense, or row-sparse while
//! every contribution was row-sparse. Sums follow the matrices they stand for:
//!
//! | left + right | result |
//! |---|---|
//! | dense + dense | dense |
//! | dense + rows, rows + dense | dense (the rows added into it) |
//! | rows + rows | rows (sorted merge; a row in both is summed) |
//!
//! ```
//! use contrast_autodiff::RowSparse;
//! use ndarray::array;
//!
//! // Rows 3, 1 and 3 again of a 5 x 2 table: row 3's two parts are summed.
//! let g = RowSparse::new(5, vec![3, 1, 3], array![[1.0, 2.0], [0.5, 0.5], [10.0, 20.0]])?;
//! assert_eq!(g.rows(), &[1, 3]);
//! assert_eq!(g.values(), &array![[0.5, 0.5], [11.0, 22.0]]);
//! assert_eq!(g.to_dense().shape(), &[5, 2]);
//! # Ok::<(), contrast_autodiff::Error>(())
//! ```

use ndarray::{Array2, ArrayD, ArrayView1, Ix2, IxDyn, NdFloat};

use crate::error::{Error, Result};

/// A coalesced row-sparse matrix of shape `(n_rows, dim)`: the listed rows, zeros elsewhere.
#[derive(Clone, Debug, PartialEq)]
pub struct RowSparse<A> {
    /// `[n_rows, dim]`: the shape of the dense matrix it stands for.
    shape: [usize; 2],
    /// Strictly increasing row ids, each `< n_rows`.
    rows: Vec<usize>,
    /// `(rows.len(), dim)`: row `j` is the value of row `rows[j]`.
    values: Array2<A>,
}

impl<A: NdFloat> RowSparse<A> {
    /// Rows `rows` (any order, repeats allowed) with values `values` (one row each) of an
    /// `(n_rows, values.ncols())` matrix. Coalesces: sorts the rows and sums repeated ones
    /// (in the order given, so the result is deterministic).
    ///
    /// Errors: a row id `>= n_rows`, or a count of values that differs from the count of rows.
    pub fn new(n_rows: usize, rows: Vec<usize>, values: Array2<A>) -> Result<Self> {
        if rows.len() != values.nrows() {
            return Err(Error::shape(
                "row_sparse",
                &[&[rows.len()], values.shape()],
                "one value row per row id",
            ));
        }
        if let Some((at, &r)) = rows.iter().enumerate().find(|(_, r)| **r >= n_rows) {
            return Err(Error::invalid(
                "row_sparse",
                format!("row id {r} at position {at} is out of range for {n_rows} rows"),
            ));
        }
        let dim = values.ncols();
        if rows.windows(2).all(|w| w[0] < w[1]) {
            return Ok(Self::from_coalesced(n_rows, rows, values));
        }
        // A stable sort keeps repeats in input order, so their sum is deterministic.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&j| rows[j]);
        let mut unique: Vec<usize> = Vec::with_capacity(rows.len());
        let mut summed = Vec::with_capacity(rows.len() * dim);
        for j in order {
            if unique.last() == Some(&rows[j]) {
                let last = summed.len() - dim;
                for (s, &v) in summed[last..].iter_mut().zip(values.row(j)) {
                    *s += v;
                }
            } else {
                unique.push(rows[j]);
                summed.extend(values.row(j).iter().copied());
            }
        }
        let values = Array2::from_shape_vec((unique.len(), dim), summed).expect("count");
        Ok(Self::from_coalesced(n_rows, unique, values))
    }

    /// No rows: the zero matrix of shape `(n_rows, dim)`.
    pub fn zeros(n_rows: usize, dim: usize) -> Self {
        Self::from_coalesced(n_rows, Vec::new(), Array2::zeros((0, dim)))
    }

    /// The dense `(n_rows, dim)` matrix (allocates the whole table: for tests and for ops
    /// that only take dense gradients).
    pub fn to_dense(&self) -> ArrayD<A> {
        let mut dense = ArrayD::zeros(IxDyn(&self.shape));
        self.add_to(&mut dense);
        dense
    }

    /// `dense += self`.
    ///
    /// # Panics
    /// When `dense` is not of shape `(n_rows, dim)` (callers check shapes first).
    pub fn add_to(&self, dense: &mut ArrayD<A>) {
        assert_eq!(
            dense.shape(),
            self.shape(),
            "RowSparse::add_to: shapes differ"
        );
        let mut dense = dense.view_mut().into_dimensionality::<Ix2>().expect("2-D");
        for (r, v) in self.iter() {
            dense.row_mut(r).zip_mut_with(&v, |d, &x| *d += x);
        }
    }

    /// `self + other` as a coalesced row-sparse matrix (a sorted merge of the two row lists).
    ///
    /// # Panics
    /// When the shapes differ (callers check shapes first).
    pub fn add(&self, other: &Self) -> Self {
        assert_eq!(self.shape, other.shape, "RowSparse::add: shapes differ");
        let dim = self.shape[1];
        let mut rows = Vec::with_capacity(self.rows.len() + other.rows.len());
        let mut values = Vec::with_capacity((self.rows.len() + other.rows.len()) * dim);
        let (mut i, mut j) = (0, 0);
        while i < self.rows.len() || j < other.rows.len() {
            let (a, b) = (self.rows.get(i), other.rows.get(j));
            match (a, b) {
                (Some(&ra), Some(&rb)) if ra == rb => {
                    rows.push(ra);
                    let (x, y) = (self.values.row(i), other.values.row(j));
                    values.extend(x.iter().zip(y).map(|(&x, &y)| x + y));
                    (i, j) = (i + 1, j + 1);
                }
                (Some(&ra), rb) if rb.is_none_or(|&rb| ra < rb) => {
                    rows.push(ra);
                    values.extend(self.values.row(i).iter().copied());
                    i += 1;
                }
                _ => {
                    rows.push(other.rows[j]);
                    values.extend(other.values.row(j).iter().copied());
                    j += 1;
                }
            }
        }
        let values = Array2::from_shape_vec((rows.len(), dim), values).expect("count");
        Self::from_coalesced(self.shape[0], rows, values)
    }
}

impl<A> RowSparse<A> {
    /// Trusted constructor: `rows` strictly increasing and `< n_rows`, one value row each.
    pub(crate) fn from_coalesced(n_rows: usize, rows: Vec<usize>, values: Array2<A>) -> Self {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        debug_assert!(rows.last().is_none_or(|&r| r < n_rows));
        debug_assert_eq!(rows.len(), values.nrows());
        Self {
            shape: [n_rows, values.ncols()],
            rows,
            values,
        }
    }

    /// The row ids present, strictly increasing.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The values of the present rows, `(rows().len(), dim)`, in the order of [`Self::rows`].
    pub fn values(&self) -> &Array2<A> {
        &self.values
    }

    /// `[n_rows, dim]`, the shape of the dense matrix this stands for.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Each present row with its value, in increasing row order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, ArrayView1<'_, A>)> {
        self.rows.iter().copied().zip(self.values.outer_iter())
    }

    /// The rows `self.rows()` of a row-major `(n_rows, dim)` buffer, as disjoint mutable
    /// slices in the order of [`Self::rows`] (what a sparse optimizer update walks: the
    /// parameter and each moment table, touching no other row).
    ///
    /// # Panics
    /// When `table.len() != n_rows * dim`.
    pub fn select_rows_mut<'t, T>(&self, table: &'t mut [T]) -> Vec<&'t mut [T]> {
        let dim = self.shape[1];
        assert_eq!(
            table.len(),
            self.shape[0] * dim,
            "RowSparse::select_rows_mut: buffer size"
        );
        let mut out = Vec::with_capacity(self.rows.len());
        let mut rest = table;
        let mut next = 0; // first row id of `rest`
        for &r in &self.rows {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut((r - next) * dim);
            let (row, tail) = tail.split_at_mut(dim);
            out.push(row);
            rest = tail;
            next = r + 1;
        }
        out
    }
}

/// A gradient as a param accumulates it: dense, or row-sparse (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub enum Grad<A> {
    /// A dense array of the param's shape.
    Dense(ArrayD<A>),
    /// The rows of a 2-D param that received a gradient; every other row's is zero.
    Rows(RowSparse<A>),
}

impl<A: NdFloat> Grad<A> {
    /// The shape of the (dense) gradient this stands for.
    pub fn shape(&self) -> &[usize] {
        match self {
            Grad::Dense(a) => a.shape(),
            Grad::Rows(r) => r.shape(),
        }
    }

    /// The dense array (a copy; for row-sparse gradients the whole table is allocated).
    pub fn to_dense(&self) -> ArrayD<A> {
        match self {
            Grad::Dense(a) => a.clone(),
            Grad::Rows(r) => r.to_dense(),
        }
    }

    /// The dense array, moving it out when it is dense already.
    pub fn into_dense(self) -> ArrayD<A> {
        match self {
            Grad::Dense(a) => a,
            Grad::Rows(r) => r.to_dense(),
        }
    }

    /// The dense array, if this gradient is dense.
    pub fn as_dense(&self) -> Option<&ArrayD<A>> {
        match self {
            Grad::Dense(a) => Some(a),
            Grad::Rows(_) => None,
        }
    }

    /// The row-sparse gradient, if this one is row-sparse.
    pub fn as_rows(&self) -> Option<&RowSparse<A>> {
        match self {
            Grad::Rows(r) => Some(r),
            Grad::Dense(_) => None,
        }
    }

    /// Whether every stored entry is finite (for a row-sparse gradient, the absent rows are
    /// zero, hence finite).
    pub fn is_finite(&self) -> bool {
        match self {
            Grad::Dense(a) => a.iter().all(|v| v.is_finite()),
            Grad::Rows(r) => r.values.iter().all(|v| v.is_finite()),
        }
    }

    /// `*slot += g` by the table of the module docs (`None` counts as zero). Shapes are
    /// checked equal by the caller.
    pub(crate) fn accumulate(slot: &mut Option<Self>, g: Self) {
        let sum = match (slot.take(), g) {
            (None, g) => g,
            (Some(Grad::Dense(mut a)), Grad::Dense(b)) => {
                a += &b;
                Grad::Dense(a)
            }
            (Some(Grad::Dense(mut a)), Grad::Rows(r))
            | (Some(Grad::Rows(r)), Grad::Dense(mut a)) => {
                r.add_to(&mut a);
                Grad::Dense(a)
            }
            (Some(Grad::Rows(a)), Grad::Rows(b)) => Grad::Rows(a.add(&b)),
        };
        *slot = Some(sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn new_coalesces_and_checks() {
        let g = RowSparse::new(4, vec![2, 0, 2, 2], array![[1.0], [2.0], [3.0], [4.0]]).unwrap();
        assert_eq!(g.rows(), &[0, 2]);
        assert_eq!(g.values(), &array![[2.0], [8.0]]);
        let dense = g.to_dense();
        assert_eq!(dense.as_slice().unwrap(), &[2.0, 0.0, 8.0, 0.0]);
        assert!(RowSparse::new(4, vec![4], array![[1.0]]).is_err());
        assert!(RowSparse::new(4, vec![1, 2], array![[1.0]]).is_err());
    }

    #[test]
    fn add_is_the_dense_sum() {
        let a = RowSparse::new(6, vec![1, 4, 5], array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]);
        let b = RowSparse::new(6, vec![0, 4], array![[5.0, 6.0], [7.0, 8.0]]);
        let (a, b) = (a.unwrap(), b.unwrap());
        let s = a.add(&b);
        assert_eq!(s.rows(), &[0, 1, 4, 5]);
        assert_eq!(s.to_dense(), a.to_dense() + b.to_dense());
        assert_eq!(b.add(&a), s);
    }

    #[test]
    fn accumulate_follows_the_table() {
        let rows = RowSparse::new(3, vec![1], array![[2.0, 3.0]]).unwrap();
        let dense = ArrayD::from_elem(IxDyn(&[3, 2]), 1.0);
        let mut slot = None;
        Grad::accumulate(&mut slot, Grad::Rows(rows.clone()));
        Grad::accumulate(&mut slot, Grad::Rows(rows.clone()));
        assert_eq!(
            slot.as_ref().unwrap().as_rows().unwrap().values(),
            &array![[4.0, 6.0]]
        );
        Grad::accumulate(&mut slot, Grad::Dense(dense.clone()));
        let want = &dense + &rows.to_dense() + &rows.to_dense();
        assert_eq!(slot.as_ref().unwrap().as_dense().unwrap(), &want);
    }

    #[test]
    fn select_rows_mut_returns_exactly_the_rows() {
        let g = RowSparse::new(5, vec![0, 3, 4], Array2::<f64>::zeros((3, 2))).unwrap();
        let mut buf: Vec<u32> = (0..10).collect();
        let rows = g.select_rows_mut(&mut buf);
        let got: Vec<Vec<u32>> = rows.iter().map(|r| r.to_vec()).collect();
        assert_eq!(got, vec![vec![0, 1], vec![6, 7], vec![8, 9]]);
    }
}
