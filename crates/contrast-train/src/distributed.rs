//! Data-parallel training over `R` ranks (processes under MPI, or threads in tests), with
//! the global batch as every loss's negatives.
//!
//! Every rank plans the same global batches (same seed), takes its contiguous shard of each
//! (`shard_range`: rank order is sample order), makes the views of its samples (the same
//! views one process would make: they are keyed by sample index), and runs:
//!
//! ```text
//! recipe.encode(shard)                       blocks of n_r rows; batch norm synchronised
//!   -> gather every block and the labels     blocks of N rows, in global sample order
//!   -> recipe.loss(global blocks)            the same loss on every rank
//!   -> backward                              gathered rows' gradient summed back to their owner
//!   -> all-reduce parameter gradients (mean) the same gradient on every rank
//!   -> optimizer step, recipe.after_step     the same update; MoCo's queue gets the gathered keys
//! ```
//!
//! `contrast_nn::distributed` explains why the sum-back and the mean together give exactly
//! the single-process gradient. Frozen blocks (MoCo's keys, BYOL's targets) are gathered as
//! plain values, so the key queue is the same on every rank. Rank 0 alone evaluates and
//! writes the run folder; the others wait for it at their next collective.
//!
//! Cost per step and rank (`N` samples, `B` blocks of width `d`, `P` parameters, `C`
//! batch-norm channels per layer): gathers of `B N d` floats (forward) and all-reduces of
//! `B N d` (backward) and `P` (gradients), `4 C` per batch-norm layer; the loss itself runs
//! on the whole global batch on every rank (for NT-Xent `(2N)^2 d` multiply-adds).

use std::sync::Arc;

use contrast_autodiff::Graph;
use contrast_collective::{Collective, Communicator, shard_range};
use contrast_nn::distributed::{
    SharedCollective, SumBack, all_reduce_gradients, broadcast_module, gather_labels,
    gather_rows_with,
};
use contrast_nn::{Module, NamedParam};
use ndarray::Array2;

use crate::batch::Meta;
use crate::error::{Error, Result};
use crate::model::ContrastModel;
use crate::recipes::Encoded;

/// This process's place among the ranks of a data-parallel run.
#[derive(Clone)]
pub struct Ranks {
    comm: Arc<dyn Communicator>,
    sum_back: SumBack,
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rank {} of {}", self.rank(), self.world())
    }
}

impl Ranks {
    /// The ranks of `comm`.
    pub fn new(comm: Arc<dyn Communicator>) -> Self {
        Self {
            comm,
            sum_back: SumBack::AllReduce,
        }
    }

    /// The same ranks with another backward rule for the gathered rows: only for the
    /// negative control of the equivalence tests ([`SumBack::Skip`] is wrong on purpose).
    #[doc(hidden)]
    pub fn with_sum_back(mut self, sum_back: SumBack) -> Self {
        self.sum_back = sum_back;
        self
    }

    /// This rank, from 0.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// Number of ranks.
    pub fn world(&self) -> usize {
        self.comm.world()
    }

    /// Whether this rank writes files and evaluates (rank 0).
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// The communicator (byte counters: `Group::stats`).
    pub fn communicator(&self) -> &dyn Communicator {
        self.comm.as_ref()
    }

    fn floats(&self) -> SharedCollective<f32> {
        Arc::clone(&self.comm) as SharedCollective<f32>
    }

    /// This rank's contiguous part of a global batch's sample indices.
    pub fn shard<'a>(&self, indices: &'a [usize]) -> Result<&'a [usize]> {
        Ok(&indices[shard_range(indices.len(), self.world(), self.rank())?])
    }

    /// Prepares models for training on these ranks: batch norm synchronises its statistics
    /// over them, and every parameter and buffer starts as rank 0's.
    pub fn join(&self, g: &mut Graph<f32>, model: &mut ContrastModel) -> Result<()> {
        model.set_collective(Some(self.floats()));
        broadcast_module(g, model, self.comm.as_ref() as &dyn Collective<f32>)?;
        Ok(())
    }

    /// The global batch's blocks from this rank's: every grad-carrying block through a
    /// gather whose backward sums the gradient back to its owner, every frozen block and the
    /// labels and ids as plain values.
    pub fn gather(
        &self,
        g: &mut Graph<f32>,
        local: Encoded,
        meta: &Meta,
    ) -> Result<(Encoded, Meta)> {
        let collective = self.floats();
        let rows = local
            .rows
            .into_iter()
            .map(|block| Ok(gather_rows_with(g, block, &collective, self.sum_back)?.var))
            .collect::<Result<Vec<_>>>()?;
        let frozen = local
            .frozen
            .iter()
            .map(|block| self.gather_values(block))
            .collect::<Result<Vec<_>>>()?;
        let labels = gather_labels(&meta.labels, self.comm.as_ref() as &dyn Collective<u64>)?;
        let ids = Collective::<u64>::all_gather_varcount(self.comm.as_ref(), &meta.ids)?.data;
        Ok((Encoded { rows, frozen }, Meta { labels, ids }))
    }

    fn gather_values(&self, block: &Array2<f32>) -> Result<Array2<f32>> {
        let width = block.ncols();
        let local = block.as_standard_layout();
        let data = Collective::<f32>::all_gather_varcount(
            self.comm.as_ref(),
            local.as_slice().expect("standard layout"),
        )?
        .data;
        Array2::from_shape_vec((data.len() / width.max(1), width), data)
            .map_err(|e| Error::Config(format!("gathered block: {e}")))
    }

    /// Replaces every parameter gradient by its mean over the ranks (the same bits on every
    /// rank).
    pub fn average_gradients(&self, g: &mut Graph<f32>, params: &[NamedParam]) -> Result<()> {
        all_reduce_gradients(g, params, self.comm.as_ref() as &dyn Collective<f32>)?;
        Ok(())
    }

    /// Checks that a cached-gradient step in chunks of `chunk_size` cuts every rank's shard
    /// of the global batch into the same number of chunks (`shard` is this rank's length):
    /// synchronised batch norm runs once per chunk on every rank, so unequal counts would
    /// leave one rank waiting for another. Every rank reaches the same answer.
    ///
    /// # Errors
    /// [`Error::Config`] naming the counts and what to change.
    pub fn check_chunks(&self, shard: usize, chunk_size: usize) -> Result<()> {
        let global = self.sum(shard as f64)? as usize;
        let counts = (0..self.world())
            .map(|r| {
                Ok(shard_range(global, self.world(), r)?
                    .len()
                    .div_ceil(chunk_size.max(1)))
            })
            .collect::<Result<Vec<_>>>()?;
        if counts.iter().any(|&c| c != counts[0]) {
            return Err(Error::Config(format!(
                "chunk_size {chunk_size} cuts the {} ranks' shards of a batch of {global} into \
                 {counts:?} chunks; every rank needs the same count (choose a batch size that \
                 is a multiple of the number of ranks, or a chunk size that divides each shard)",
                self.world()
            )));
        }
        Ok(())
    }

    /// The sum over ranks of one number (e.g. a per-rank count).
    pub fn sum(&self, value: f64) -> Result<f64> {
        let mut buf = [value];
        Collective::<f64>::all_reduce_sum(self.comm.as_ref(), &mut buf)?;
        Ok(buf[0])
    }
}

/// The MPI ranks of this process (`MPI_COMM_WORLD`), or an error naming how to get them.
///
/// # Errors
/// [`Error::Config`] when the crate was built without the feature `mpi`, or MPI failed to
/// start.
pub fn mpi_ranks() -> Result<Ranks> {
    #[cfg(feature = "mpi")]
    {
        let comm = contrast_collective::Mpi::init()?;
        Ok(Ranks::new(Arc::new(comm)))
    }
    #[cfg(not(feature = "mpi"))]
    {
        Err(Error::Config(
            "--distributed needs MPI, and this build has none: rebuild with `cargo build --release \
             --features mpi` (Debian: apt-get install libopenmpi-dev openmpi-bin libclang-dev), then \
             run `mpirun -np N target/release/contrast train --distributed ...`"
                .into(),
        ))
    }
}
