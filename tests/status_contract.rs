//! The status-store contract: one suite, run unchanged against the embedded store (the pack's
//! `status.json` in memory) and PostgreSQL (after `import`), both real. The answers given from
//! either are the same for the same data. The PostgreSQL half runs with the `engines` feature.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::engines::Namespace;
use triage::answer::PgStatus;
use triage::answer::{ClientDirectory, StatusStore};
use triage::pack::{Pack, Target};

#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "engines"), allow(dead_code))]
enum Backend {
    Embedded,
    Postgres,
}

fn agency() -> Pack {
    Pack::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/agency")).unwrap()
}

/// The time the agency data is loaded and asked at: its own as-of, so no date moves.
fn as_of() -> jiff::Timestamp {
    "2026-11-20T09:00:00Z".parse().unwrap()
}

/// The directory under test, the pack's own store to compare with, and the namespace to drop.
async fn open(backend: Backend) -> (Arc<dyn ClientDirectory>, StatusStore, Option<Namespace>) {
    let store = StatusStore::for_pack(&agency(), as_of()).unwrap();
    match backend {
        Backend::Embedded => (
            Arc::new(StatusStore::for_pack(&agency(), as_of()).unwrap()),
            store,
            None,
        ),
        Backend::Postgres => {
            let namespace = Namespace::new("status");
            let pg = PgStatus::new(namespace.postgres().await);
            // Imported twice: an import replaces the data, it does not add to it.
            pg.import(&store.snapshot()).await.unwrap();
            let (clients, entities) = pg.import(&store.snapshot()).await.unwrap();
            assert_eq!(clients, store.client_ids().len());
            assert!(entities > clients);
            (Arc::new(pg), store, Some(namespace))
        }
    }
}

async fn close(namespace: Option<Namespace>) {
    if let Some(namespace) = namespace {
        namespace.remove().await;
    }
}

/// Every client reads back whole: fields, addresses, entities in order, as-of.
async fn clients_read_back_whole(backend: Backend) {
    let (directory, store, namespace) = open(backend).await;
    for id in store.client_ids() {
        let found = directory.client(&id).await.unwrap();
        assert_eq!(found, store.client(&id), "{id}");
    }
    assert_eq!(directory.client("nobody").await.unwrap(), None);
    assert_eq!(directory.client("").await.unwrap(), None);
    assert_eq!(directory.client("acme' OR '1'='1").await.unwrap(), None);
    assert_eq!(directory.healthy().await, Ok(()));
    close(namespace).await;
}

/// Senders are matched by exact address first, then by domain, ignoring case and blanks.
async fn senders_map_to_their_client(backend: Backend) {
    let (directory, _store, namespace) = open(backend).await;
    let id_of = |address: &'static str| {
        let directory = Arc::clone(&directory);
        async move {
            directory
                .client_for_email(address)
                .await
                .unwrap()
                .map(|c| c.id.clone())
        }
    };
    assert_eq!(id_of("ops@acme.example").await.as_deref(), Some("acme"));
    assert_eq!(
        id_of("  Someone@ACME.example ").await.as_deref(),
        Some("acme")
    );
    assert_eq!(id_of("someone@unknown.example").await, None);
    assert_eq!(id_of("acme.example").await, None);
    assert_eq!(id_of("").await, None);
    close(namespace).await;
}

/// For every client and every direct test question of the pack, the answer (or the reason
/// there is none) is the one the pack's own data gives.
async fn answers_equal_the_packs(backend: Backend) {
    let (directory, store, namespace) = open(backend).await;
    let pack = agency();
    let data = store.snapshot();
    let mut compared = 0;
    for id in store.client_ids() {
        let client = directory.client(&id).await.unwrap().unwrap();
        let expected_client = store.client(&id).unwrap();
        for row in &pack.test {
            let Some(intent) = row.intent.map(|i| &pack.intents[i]) else {
                continue;
            };
            let Target::StatusKind(kind) = &intent.target else {
                continue;
            };
            let reader = data.reader(Some(&expected_client), None, &row.text);
            let ours = data.answer(&client, &intent.name, kind, &row.text, as_of(), &reader);
            let theirs = data.answer(
                &expected_client,
                &intent.name,
                kind,
                &row.text,
                as_of(),
                &reader,
            );
            assert_eq!(ours, theirs, "{id}: {}", row.text);
            compared += 1;
        }
    }
    assert!(compared > 500, "only {compared} answers compared");
    close(namespace).await;
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::Embedded).await;
                }
            )*
        }
        #[cfg(feature = "engines")]
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

contract!(
    clients_read_back_whole,
    senders_map_to_their_client,
    answers_equal_the_packs,
);
