//! Evaluation of frozen features: weighted kNN, linear probe, geometry of the embedding,
//! and the baselines every result is shown beside.

pub mod features;
pub mod knn;
pub mod pca;
pub mod probe;
pub mod report;
