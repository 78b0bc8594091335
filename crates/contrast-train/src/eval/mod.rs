//! Evaluation of frozen features: weighted kNN, linear probe, geometry of the embedding,
//! and the baselines every result is shown beside; for continuous targets (the states behind
//! observations), ridge and kNN regression scored by R^2; retrieval of a known match.

pub mod features;
pub mod knn;
pub mod knn_regression;
pub mod pca;
pub mod probe;
pub mod r_squared;
pub mod report;
pub mod retrieval;
pub mod ridge;
