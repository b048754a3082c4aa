//! Model files: saved, loaded, byte-identical across trainings, refused when they do not fit.

mod common;

use triage::classify::{TrainOptions, artifact, train};
use triage::pack::Pack;

fn tiny() -> Pack {
    Pack::load(&common::tiny_pack()).unwrap()
}

/// A loaded model decides exactly as the model that was saved.
#[test]
fn save_and_load_round_trip() {
    let pack = tiny();
    let trained = train(&pack, &TrainOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    artifact::save(&trained, &pack, dir.path()).unwrap();
    let loaded = artifact::load(&pack, dir.path()).unwrap();
    assert_eq!(loaded.version(), trained.classifier.version());
    for example in pack.test.iter().chain(&pack.train) {
        let before = trained.classifier.classify(&example.text).unwrap();
        let after = loaded.classify(&example.text).unwrap();
        assert_eq!(before, after, "{}", example.text);
        assert_eq!(
            trained.classifier.explain(&example.text, &before).unwrap(),
            loaded.explain(&example.text, &after).unwrap()
        );
    }
}

/// The same pack gives byte-identical model files.
#[test]
fn training_is_deterministic() {
    let pack = tiny();
    let files = |dir: &std::path::Path| {
        ["model.json", "weights.bin"].map(|name| std::fs::read(dir.join(name)).unwrap())
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    artifact::save(
        &train(&pack, &TrainOptions::default()).unwrap(),
        &pack,
        a.path(),
    )
    .unwrap();
    artifact::save(
        &train(&pack, &TrainOptions::default()).unwrap(),
        &pack,
        b.path(),
    )
    .unwrap();
    assert_eq!(files(a.path()), files(b.path()));
}

/// A model of another format, other intents or damaged weights is refused with the reason.
#[test]
fn mismatched_models_are_refused() {
    let pack = tiny();
    let trained = train(&pack, &TrainOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    artifact::save(&trained, &pack, dir.path()).unwrap();
    let manifest_path = dir.path().join("model.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let refusal = |dir: &std::path::Path| artifact::load(&pack, dir).err().unwrap().to_string();

    std::fs::write(
        &manifest_path,
        manifest.replace("\"format_version\": 1", "\"format_version\": 99"),
    )
    .unwrap();
    assert!(
        refusal(dir.path()).contains("model format 99"),
        "{}",
        refusal(dir.path())
    );

    std::fs::write(
        &manifest_path,
        manifest.replace("\"complaint\"", "\"refund\""),
    )
    .unwrap();
    assert!(
        refusal(dir.path()).contains("are not the pack's"),
        "{}",
        refusal(dir.path())
    );

    std::fs::write(&manifest_path, &manifest).unwrap();
    let weights_path = dir.path().join("weights.bin");
    let mut weights = std::fs::read(&weights_path).unwrap();
    let last = weights.len() - 1;
    weights[last] ^= 0xff;
    std::fs::write(&weights_path, weights).unwrap();
    assert!(
        refusal(dir.path()).contains("does not match its digest"),
        "{}",
        refusal(dir.path())
    );
}
