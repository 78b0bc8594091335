//! `contrast-augment`: see the workspace DESIGN for its place in the data path.
