//! The TOML run configuration of contrast-train on arbitrary text.
//!
//! Parsing and validation may reject the text but never panic. A configuration that
//! parses must serialise back to TOML, and that TOML must parse to the same document.
#![no_main]

use contrast_train::config::TrainConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = TrainConfig::from_toml(text) else {
        return;
    };
    let _ = config.validate();
    let written = config.to_toml();
    let again = TrainConfig::from_toml(&written).expect("a written configuration parses");
    // Compared as text: NaN fields make the structs unequal to themselves.
    assert_eq!(again.to_toml(), written);
    assert_eq!(again.validate().is_ok(), config.validate().is_ok());
});
