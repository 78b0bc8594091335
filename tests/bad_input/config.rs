//! The run configuration: `contrast_train::config`.

use contrast_train::Error;
use contrast_train::config::TrainConfig;

use super::assert_names;

/// The message of a `Config` error (any other variant fails the test).
fn config_message(err: Error) -> String {
    match err {
        Error::Config(msg) => msg,
        other => panic!("expected Error::Config, got {other:?}"),
    }
}

#[test]
fn config_that_is_valid_parses() {
    // The baseline the other config cases spoil one thing of.
    let c = TrainConfig::from_toml("batch_size = 64\ntemperature = 0.2\n").unwrap();
    assert_eq!((c.batch_size, c.temperature), (64, 0.2));
    c.validate().unwrap();
}

#[test]
fn config_with_an_unknown_key() {
    let err = TrainConfig::from_toml("batch_size = 64\nlearning_rate = 0.1\n").unwrap_err();
    let msg = config_message(err);
    assert_names(&msg, &["unknown field", "learning_rate"]);
}

#[test]
fn config_with_a_wrong_type() {
    let err = TrainConfig::from_toml("epochs = \"ten\"\n").unwrap_err();
    let msg = config_message(err);
    assert_names(&msg, &["epochs", "ten"]);
}

#[test]
fn config_with_a_negative_batch_size() {
    let err = TrainConfig::from_toml("batch_size = -32\n").unwrap_err();
    let msg = config_message(err);
    assert_names(&msg, &["batch_size", "-32"]);
}

#[test]
fn config_with_temperature_zero() {
    let c = TrainConfig::from_toml("temperature = 0.0\n").unwrap();
    let msg = config_message(c.validate().unwrap_err());
    assert_names(&msg, &["temperature", "> 0", "got 0"]);
}

#[test]
fn config_with_a_negative_temperature() {
    let c = TrainConfig::from_toml("temperature = -0.5\n").unwrap();
    let msg = config_message(c.validate().unwrap_err());
    assert_names(&msg, &["temperature", "-0.5"]);
}

#[test]
fn config_with_a_nan_learning_rate() {
    let c = TrainConfig::from_toml("lr = nan\n").unwrap();
    let msg = config_message(c.validate().unwrap_err());
    assert_names(&msg, &["lr", "NaN"]);
}
