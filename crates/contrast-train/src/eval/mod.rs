//! Evaluation of frozen features: weighted kNN, linear probe, geometry of the embedding.

pub mod knn;
pub mod pca;
