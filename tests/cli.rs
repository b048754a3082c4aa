//! The `triage` command on the tiny fixture pack: train, classify, eval, and bad input.

mod common;

use common::{stderr_of_failure, stdout_of_success, tiny_pack, tiny_pack_copy, triage};

/// Training writes a model that `classify` loads, and the decision comes with its explanation.
#[test]
fn train_then_classify_explains_the_decision() {
    let work = tempfile::tempdir().unwrap();
    let pack = tiny_pack();
    let pack = pack.to_str().unwrap();
    stdout_of_success(&triage(
        work.path(),
        &[
            "train",
            "--pack",
            pack,
            "--out",
            "model",
            "--accept-low-quality",
        ],
    ));
    assert!(work.path().join("model/model.json").exists());

    let output = triage(
        work.path(),
        &[
            "classify",
            "--pack",
            pack,
            "--model",
            "model",
            "--json",
            "has invoice 7 been paid?",
        ],
    );
    let decision: serde_json::Value = serde_json::from_str(&stdout_of_success(&output)).unwrap();
    let classification = &decision["classification"];
    assert_eq!(classification["intent"], "invoice_status");
    assert_eq!(classification["tier"], "direct");
    assert!(
        classification["model_version"]
            .as_str()
            .unwrap()
            .starts_with("tiny-")
    );
    let terms = decision["explanation"]["terms"].as_array().unwrap();
    assert!(
        terms
            .iter()
            .any(|t| t["term"] == "invoice" || t["term"] == "paid"),
        "{terms:?}"
    );
    assert!(
        !decision["explanation"]["nearest"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let chinese = triage(
        work.path(),
        &[
            "classify",
            "--pack",
            pack,
            "--model",
            "model",
            "--json",
            "我们的SEO策略应该关注什么？",
        ],
    );
    let decision: serde_json::Value = serde_json::from_str(&stdout_of_success(&chinese)).unwrap();
    assert_eq!(decision["classification"]["intent"], "seo_advice");
}

/// The default model folder is models/<pack name> under the working directory.
#[test]
fn train_defaults_to_the_models_folder() {
    let work = tempfile::tempdir().unwrap();
    let pack = tiny_pack();
    stdout_of_success(&triage(
        work.path(),
        &[
            "train",
            "--pack",
            pack.to_str().unwrap(),
            "--accept-low-quality",
        ],
    ));
    assert!(work.path().join("models/tiny/weights.bin").exists());
}

/// `eval` prints a readable report and, as its last line, the JSON report of the contract.
#[test]
fn eval_ends_with_the_json_report() {
    let work = tempfile::tempdir().unwrap();
    let pack = tiny_pack();
    let stdout = stdout_of_success(&triage(
        work.path(),
        &["eval", "--pack", pack.to_str().unwrap()],
    ));
    assert!(stdout.contains("intent accuracy"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    let report: serde_json::Value = serde_json::from_str(last).unwrap();
    for key in [
        "intent_accuracy",
        "intent_macro_f1",
        "tier_accuracy",
        "expert_sent_direct",
        "auto_answer_precision",
        "deflection",
        "out_of_scope_escalated",
        "train_seconds",
        "classify_p50_us",
        "classify_p99_us",
        "peak_rss_mb",
        "skipped_rows",
        "converged",
        "fit_iterations",
        "quality_warnings",
    ] {
        assert!(report.get(key).is_some(), "missing {key} in {last}");
    }
    assert_eq!(report["skipped_rows"], 0);
    assert_eq!(report["converged"], true);
    assert!(report["fit_iterations"].as_u64().unwrap() > 0, "{last}");
    assert_eq!(report["in_scope_rows"], 12);
    assert_eq!(report["out_of_scope_rows"], 2);
    assert!(
        report["intent_accuracy"].as_f64().unwrap() >= 0.75,
        "{last}"
    );
}

/// Bad packs and bad text are clear errors naming what is wrong, not panics.
#[test]
fn bad_input_is_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let missing = stderr_of_failure(&triage(work.path(), &["eval", "--pack", "no/such/pack"]));
    assert!(missing.contains("no/such/pack/intents.csv"), "{missing}");
    assert!(!missing.contains("panicked"), "{missing}");

    let pack = tiny_pack_copy();
    let train = pack.path().join("train.csv");
    let mut rows = std::fs::read_to_string(&train).unwrap();
    rows.push_str("\"an unclosed quote,report_eta\nnext,report_eta,extra\n");
    std::fs::write(&train, rows).unwrap();
    let bad_row = stderr_of_failure(&triage(
        work.path(),
        &["train", "--pack", pack.path().to_str().unwrap()],
    ));
    assert!(bad_row.contains("train.csv:42"), "{bad_row}");

    let tiny = tiny_pack();
    let tiny = tiny.to_str().unwrap();
    stdout_of_success(&triage(
        work.path(),
        &[
            "train",
            "--pack",
            tiny,
            "--out",
            "m",
            "--accept-low-quality",
        ],
    ));
    let empty = stderr_of_failure(&triage(
        work.path(),
        &["classify", "--pack", tiny, "--model", "m", " ?! "],
    ));
    assert!(empty.contains("empty"), "{empty}");
    let no_model = stderr_of_failure(&triage(
        work.path(),
        &["classify", "--pack", tiny, "--model", "none", "hi"],
    ));
    assert!(no_model.contains("none/model.json"), "{no_model}");
}

/// A model trained on other data than the pack's is refused, with what to do about it.
#[test]
fn a_model_of_other_data_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let tiny = tiny_pack();
    stdout_of_success(&triage(
        work.path(),
        &[
            "train",
            "--pack",
            tiny.to_str().unwrap(),
            "--out",
            "m",
            "--accept-low-quality",
        ],
    ));
    let changed = tiny_pack_copy();
    let train = changed.path().join("train.csv");
    let rows = std::fs::read_to_string(&train).unwrap() + "is the report ready now,report_eta\n";
    std::fs::write(&train, rows).unwrap();
    let refused = stderr_of_failure(&triage(
        work.path(),
        &[
            "classify",
            "--pack",
            changed.path().to_str().unwrap(),
            "--model",
            "m",
            "hello",
        ],
    ));
    assert!(refused.contains("trained on other data"), "{refused}");
    assert!(refused.contains("triage train"), "{refused}");
}

/// A pack too small to measure is refused by `train`'s quality gate with the reasons and the
/// way out; `--accept-low-quality` writes it anyway, and `eval` reports the same warnings.
#[test]
fn a_tiny_pack_is_refused_by_the_quality_gate() {
    let work = tempfile::tempdir().unwrap();
    let pack = tiny_pack();
    let pack = pack.to_str().unwrap();
    let refused = stderr_of_failure(&triage(
        work.path(),
        &["train", "--pack", pack, "--out", "model"],
    ));
    assert!(
        refused.contains("falls short of its quality floors"),
        "{refused}"
    );
    assert!(refused.contains("--accept-low-quality"), "{refused}");
    assert!(refused.contains("[quality]"), "{refused}");
    assert!(!work.path().join("model").exists());

    let accepted = stdout_of_success(&triage(
        work.path(),
        &[
            "train",
            "--pack",
            pack,
            "--out",
            "model",
            "--accept-low-quality",
        ],
    ));
    assert!(accepted.contains("warning: "), "{accepted}");
    assert!(work.path().join("model/model.json").exists());

    let stdout = stdout_of_success(&triage(work.path(), &["eval", "--pack", pack]));
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let warnings = report["quality_warnings"].as_array().unwrap();
    assert!(!warnings.is_empty(), "{stdout}");
    for warning in warnings {
        assert!(
            accepted.contains(warning.as_str().unwrap()),
            "train and eval disagree: {warning} not in {accepted}"
        );
    }
}

/// Rows whose text has no words are skipped with file and line in train and eval, counted in
/// the JSON report, and classifying such a text is a clear error.
#[test]
fn rows_without_words_are_skipped_and_counted() {
    let work = tempfile::tempdir().unwrap();
    let pack = tiny_pack_copy();
    let append = |name: &str, rows: &str| {
        let path = pack.path().join(name);
        let content = std::fs::read_to_string(&path).unwrap() + rows;
        std::fs::write(&path, content).unwrap();
    };
    append("train.csv", "?,report_eta\n:(,complaint\n");
    append("test.csv", "。。。。。。,invoice_status\n");
    let dir = pack.path().to_str().unwrap();

    let output = triage(work.path(), &["eval", "--pack", dir]);
    let stdout = stdout_of_success(&output);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["skipped_rows"], 3, "{stdout}");
    assert_eq!(report["in_scope_rows"], 12);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for row in ["train.csv:42", "train.csv:43", "test.csv:16"] {
        assert!(stdout.contains(row), "{row} not in {stdout}");
        assert!(stderr.contains(row), "{row} not in {stderr}");
    }

    let trained = stdout_of_success(&triage(
        work.path(),
        &["train", "--pack", dir, "--out", "m", "--accept-low-quality"],
    ));
    assert!(trained.contains("skipped 2 row(s)"), "{trained}");
    assert!(trained.contains("train.csv:43"), "{trained}");
    let empty = stderr_of_failure(&triage(
        work.path(),
        &["classify", "--pack", dir, "--model", "m", ":("],
    ));
    assert!(empty.contains("no words"), "{empty}");
}
