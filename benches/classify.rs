//! One-query classification cost with the committed models (banking77, the largest pack, and
//! agency, the one `triage serve` runs by default), and its parts: classification alone, and
//! classification with its explanation as the service makes it for every inquiry.
//!
//! Before timing, the bench checks each model's accuracy on its test set, so a fast wrong
//! classifier cannot pass. Run with `cargo bench --bench classify`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use triage::classify::{NormalizedText, artifact};
use triage::pack::Pack;

/// Each pack with the test accuracy its committed model must keep.
const PACKS: [(&str, f64); 2] = [("banking77", 0.91), ("agency", 0.93)];

fn bench_classify(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, floor) in PACKS {
        let pack = Pack::load(&root.join("data").join(name)).expect("pack");
        let classifier = artifact::load(&pack, &root.join("models").join(name)).expect("model");
        let labelled: Vec<_> = pack.test.iter().filter(|e| e.intent.is_some()).collect();
        let correct = labelled
            .iter()
            .filter(|e| {
                classifier
                    .classify(&e.text)
                    .expect("classifies")
                    .intent_index
                    == e.intent.unwrap()
            })
            .count();
        let accuracy = correct as f64 / labelled.len() as f64;
        assert!(
            accuracy >= floor,
            "{name} accuracy {accuracy:.4} below {floor}"
        );
        let texts: Vec<&str> = pack.test.iter().map(|e| e.text.as_str()).collect();

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        let mut next = 0;
        let mut each = |b: &mut criterion::Bencher, run: &dyn Fn(&str)| {
            b.iter(|| {
                next = (next + 1) % texts.len();
                run(black_box(texts[next]))
            })
        };
        group.bench_function("classify one query", |b| {
            each(b, &|text| {
                black_box(classifier.classify(text).expect("classifies"));
            })
        });
        group.bench_function("classify and explain one query", |b| {
            each(b, &|text| {
                black_box(classifier.classify_explained(text).expect("classifies"));
            })
        });
        group.bench_function("normalize one query", |b| {
            each(b, &|text| {
                black_box(NormalizedText::new(text));
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_classify);
criterion_main!(benches);
