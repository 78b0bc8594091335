//! `contrast train` with a loss, negatives or views that do not fit: a clear error, and
//! nothing written. One run that does fit trains and names its loss in `config.toml`.

mod binary;
use binary::{contrast, text};

#[test]
fn bad_choices_on_the_command_line_fail_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let cases: [(&[&str], &[&str]); 14] = [
        (&["--loss", "ntxent"], &["ntxent", "nt_xent"]),
        (
            &["--loss", "dcl", "--beta", "1"],
            &["`dcl` has no parameter `beta`", "hcl"],
        ),
        (
            &["--sigma", "0.5"],
            &["`nt_xent` has no parameter `sigma`", "dcl_w", "--loss"],
        ),
        (
            &["--loss", "hcl", "--tau-plus", "1.5"],
            &["tau_plus", "[0, 1)"],
        ),
        (
            &[
                "--loss",
                "info_nce",
                "--negatives",
                "queue",
                "--queue-size",
                "64",
            ],
            &["queue_size 64 is shorter than one batch", "128"],
        ),
        (&["--negatives", "queue"], &["info_nce"]),
        (
            &["--method", "byol", "--negatives", "batch"],
            &["byol takes negatives none"],
        ),
        (
            &["--method", "triplet", "--loss", "dcl"],
            &["triplet has its own loss"],
        ),
        (&["--views", "3+2"], &["views must be"]),
        (&["--duplicates", "mask"], &["sampling = \"replacement\""]),
        (
            &["--loss", "vicreg", "--bias", "-3"],
            &["`vicreg` has no parameter `bias`", "siglip"],
        ),
        (&["--negatives", "hardest"], &["needs hardest_k"]),
        (
            &["--negatives", "hardest", "--hardest-k", "300"],
            &["hardest_k 300", "1..=254"],
        ),
        (
            &[
                "--loss",
                "hcl",
                "--negatives",
                "hardest",
                "--hardest-k",
                "8",
            ],
            &["nt_xent, dcl and dcl_w", "hcl"],
        ),
    ];
    for (flags, expect) in cases {
        let mut args = vec!["train", "--dataset", "digits", "--batch-size", "128"];
        args.extend_from_slice(flags);
        args.extend(["--out", out_s]);
        let o = contrast(&args);
        let t = text(&o);
        assert!(!o.status.success(), "{flags:?} succeeded");
        for e in expect {
            assert!(t.contains(e), "{flags:?}: expected {e:?} in {t}");
        }
        assert!(!out.exists(), "{flags:?} wrote {out_s}");
    }
}

#[test]
fn a_loss_table_with_a_foreign_parameter_fails_naming_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    for (body, expect) in [
        ("[loss]\nname = \"dcl\"\nbeta = 1.0\n", "belongs to hcl"),
        ("[loss]\nname = \"dcl_w\"\nsigma = -1.0\n", "sigma"),
        ("[loss]\nname = \"ntxent\"\n", "unknown loss `ntxent`"),
        ("[loss]\nsigma = 0.5\n", "needs a `name`"),
        (
            "negatives = \"queue\"\n[loss]\nname = \"dcl\"\n",
            "info_nce",
        ),
    ] {
        let config = dir.path().join("c.toml");
        let body = format!("out = {:?}\n{body}", out.to_str().unwrap());
        std::fs::write(&config, &body).unwrap();
        let o = contrast(&["train", "--config", config.to_str().unwrap()]);
        assert!(!o.status.success(), "{body} accepted");
        assert!(text(&o).contains(expect), "{body}: {}", text(&o));
        assert!(!out.exists(), "{body} wrote the run folder");
    }
}

#[test]
fn a_chosen_loss_trains_and_is_saved_with_its_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = contrast(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--batch-size",
        "128",
        "--quiet",
        "--loss",
        "hcl",
        "--beta",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        saved.contains("[loss]")
            && saved.contains("name = \"hcl\"")
            && saved.contains("beta = 0.5"),
        "{saved}"
    );
}
