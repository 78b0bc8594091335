//! Supervised contrastive learning (Khosla et al. 2020): SimCLR's views (two, or two and
//! small crops), but every row of the same class is a positive (the `L_out` form). With
//! `negatives = "xbm"` the rows of past batches join as further candidates ([`super::xbm`]).

use contrast_autodiff::{Graph, Var};
use contrast_losses::SupConConfig;
use contrast_losses::autodiff::supcon_op;

use super::xbm::supcon_with_memory;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::negatives::{Memory, Negatives, as_matrix, per_view};

/// SupCon's temperature and its cross-batch memory, when it has one.
pub struct SupConState {
    memory: Option<Memory>,
    temperature: f64,
}

impl SupConState {
    /// The memory of `config` (`queue_size` rows) or none.
    pub fn new(config: &TrainConfig) -> Result<Self> {
        let memory = match super::negatives_of(config) {
            Some(Negatives::Xbm) => Some(Memory::xbm(config.queue_size, config.projection_dim)?),
            _ => None,
        };
        Ok(Self {
            memory,
            temperature: f64::from(config.temperature),
        })
    }

    /// The cross-batch memory, when there is one.
    pub fn memory(&self) -> Option<&Memory> {
        self.memory.as_ref()
    }

    /// [`SupConState::memory`], mutable (to load a checkpoint).
    pub fn memory_mut(&mut self) -> Option<&mut Memory> {
        self.memory.as_mut()
    }

    /// `SupCon([z_1; ...; z_V], labels per view)`, against the memory when there is one;
    /// then the batch's rows join the memory.
    pub fn loss(&mut self, g: &mut Graph<f32>, blocks: &[Var], labels: &[usize]) -> Result<Var> {
        let z = g.concat(blocks, 0)?;
        let row_labels = per_view(labels, blocks.len());
        let Some(memory) = self.memory.as_mut() else {
            return Ok(supcon_op(
                g,
                z,
                &row_labels,
                &SupConConfig::new(self.temperature),
            )?);
        };
        let loss = supcon_with_memory(
            g,
            z,
            &row_labels,
            memory.rows(),
            memory.labels().unwrap_or(&[]),
            self.temperature,
        )?;
        let rows = as_matrix(g.value(z), "supcon rows")?;
        memory.push(rows.view(), Some(&row_labels))?;
        Ok(loss)
    }
}
