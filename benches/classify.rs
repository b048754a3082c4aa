//! One-query classification cost on banking77 with the committed model, and its parts.
//!
//! Before timing, the bench checks the model's accuracy on the test set, so a fast wrong
//! classifier cannot pass. Run with `cargo bench --bench classify`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use triage::classify::{NormalizedText, artifact};
use triage::pack::Pack;

fn bench_classify(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pack = Pack::load(&root.join("data/banking77")).expect("banking77 pack");
    let classifier =
        artifact::load(&pack, &root.join("models/banking77")).expect("banking77 model");
    let texts: Vec<&str> = pack.test.iter().map(|e| e.text.as_str()).collect();

    let correct = pack
        .test
        .iter()
        .filter(|e| {
            classifier
                .classify(&e.text)
                .expect("classifies")
                .intent_index
                == e.intent.unwrap()
        })
        .count();
    let accuracy = correct as f64 / pack.test.len() as f64;
    assert!(
        accuracy >= 0.91,
        "banking77 accuracy {accuracy:.4} below 0.91"
    );

    let mut group = c.benchmark_group("banking77");
    group.throughput(Throughput::Elements(1));
    let mut next = 0;
    group.bench_function("classify one query", |b| {
        b.iter(|| {
            next = (next + 1) % texts.len();
            black_box(
                classifier
                    .classify(black_box(texts[next]))
                    .expect("classifies"),
            )
        })
    });
    group.bench_function("classify and explain one query", |b| {
        b.iter(|| {
            next = (next + 1) % texts.len();
            let decision = classifier
                .classify(black_box(texts[next]))
                .expect("classifies");
            black_box(
                classifier
                    .explain(texts[next], &decision)
                    .expect("explains"),
            )
        })
    });
    group.bench_function("normalize one query", |b| {
        b.iter(|| {
            next = (next + 1) % texts.len();
            black_box(NormalizedText::new(black_box(texts[next])))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_classify);
criterion_main!(benches);
