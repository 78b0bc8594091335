//! The bad-input suite: what a user may feed this workspace that is wrong, and the error
//! each case must give. One test per case; each asserts the error's variant (its kind) and
//! that its message names the problem (the file, the key, the shape or the value), so a
//! user reading only the message knows what to fix.
//!
//! | module | cases |
//! |---|---|
//! | [`data`] | truncated, empty and wrong-magic IDX; label count mismatch; out-of-range labels (IDX, CIFAR); corrupt PNG in an image folder; dataset smaller than the batch |
//! | [`checkpoint`] | wrong shape, missing tensor, truncated file, not safetensors at all |
//! | [`config`] | unknown key, wrong type, negative batch size, temperature 0, seed beyond TOML's range |
//! | [`losses`] | NaN (and infinite) embeddings to every loss of `contrast-losses` |
//! | [`gpu`] | a GPU requested where none exists |
//!
//! Inputs that fuzzing found (see `fuzz/README.md`) are kept here as regression tests, in
//! the module of the crate they broke.

#[path = "bad_input/checkpoint.rs"]
mod checkpoint;
#[path = "bad_input/config.rs"]
mod config;
#[path = "bad_input/data.rs"]
mod data;
#[path = "bad_input/gpu.rs"]
mod gpu;
#[path = "bad_input/losses.rs"]
mod losses;
#[path = "bad_input/png.rs"]
mod png;

/// Asserts that `message` contains every one of `needles`, showing the message when not.
fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "the message {message:?} does not name {needle:?}"
        );
    }
}
