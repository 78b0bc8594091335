//! `contrast train --method temporal` with settings that do not fit: a clear error, and
//! nothing written.

mod binary;
use binary::{contrast, text};

#[test]
fn temporal_settings_that_do_not_fit_fail_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        // Without a target, or with one of this momentum: not both.
        (
            &["--no-target", "--target-momentum", "0.9"],
            "cannot be used with",
        ),
        // The temporal recipe's loss is fixed.
        (&["--loss", "dcl"], "has its own loss"),
        (
            &["--target-momentum", "1.5"],
            "target_momentum must be in [0, 1)",
        ),
        (&["--frame-stack", "0"], "at least one frame"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["train", "--method", "temporal", "--out", out_s];
        args.extend_from_slice(flags);
        let o = contrast(&args);
        let text = text(&o);
        assert!(!o.status.success(), "{flags:?} succeeded: {text}");
        assert!(text.contains(needle), "{flags:?}: {text}");
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
    }
}
