//! The committed models in `models/` belong to the bundled packs in `data/` and still classify
//! as they did when trained: a normalizer, feature or data change without retraining fails here.

use std::path::Path;

use triage::classify::artifact;
use triage::pack::Pack;

/// Every bundled pack's committed model loads and keeps its accuracy on the pack's test set.
#[test]
fn bundled_models_match_their_packs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, least_accuracy) in [
        ("agency", 0.90),
        ("banking77", 0.91),
        ("hwu64", 0.88),
        ("distributor", 0.88),
    ] {
        let pack = Pack::load(&root.join("data").join(name)).unwrap();
        let classifier = artifact::load(&pack, &root.join("models").join(name)).unwrap();
        let in_scope: Vec<_> = pack.test.iter().filter(|e| e.intent.is_some()).collect();
        let correct = in_scope
            .iter()
            .filter(|e| classifier.classify(&e.text).unwrap().intent_index == e.intent.unwrap())
            .count();
        let accuracy = correct as f64 / in_scope.len() as f64;
        assert!(
            accuracy >= least_accuracy,
            "{name}: accuracy {accuracy:.4} < {least_accuracy}"
        );
    }
}
