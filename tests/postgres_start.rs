//! PostgreSQL at start: an error names the address (host:port/database and schema) and the
//! cause, never a password; a schema name of any case and characters is one schema everywhere
//! (created, searched, imported into, dropped); a migration that fails leaves no schema behind.

// Needs a real PostgreSQL server: run with the `engines` feature.
#![cfg(feature = "engines")]

mod common;

use std::path::Path;

use common::engines::{Namespace, postgres_url};
use common::process::closed_port;

use triage::answer::{ClientDirectory, PgStatus, StatusStore};
use triage::pack::Pack;
use triage::postgres::Postgres;

/// The message of a `connect` that must fail.
async fn connect_error(url: &str, schema: Option<&str>) -> String {
    match Postgres::connect(url, schema, 1).await {
        Ok(_) => panic!("connecting to {url} succeeded"),
        Err(err) => err.to_string(),
    }
}

/// The tests' database URL with `password` put into it and the database renamed `database`.
fn url_with(password: &str, database: &str) -> String {
    let url = postgres_url();
    let (server, _) = url.rsplit_once('/').expect("a URL with a database");
    let server = match server.split_once('@') {
        Some((user, host)) if !user.contains(':') => format!("{user}:{password}@{host}"),
        _ => server.to_owned(),
    };
    format!("{server}/{database}")
}

/// Whether a schema named exactly `name` exists.
async fn schema_exists(name: &str) -> bool {
    let pg = Postgres::open(&postgres_url(), None, 1).unwrap();
    let client = pg.client().await.expect("postgres connection");
    client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&name],
        )
        .await
        .expect("look the schema up")
        .get(0)
}

/// A closed port: the message names the address and schema and says the connection was
/// refused (not just "error connecting to server").
#[tokio::test]
async fn a_closed_port_is_named_and_refused() {
    let (_refusing, port) = closed_port();
    let message = connect_error(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        Some("helpdesk"),
    )
    .await;
    assert!(
        message.starts_with(&format!(
            "postgres at 127.0.0.1:{port}/test (schema \"helpdesk\"): cannot connect: "
        )),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
}

/// An unknown database is named, with the server's reason; the password in the URL is not
/// shown, neither there nor when the URL does not parse.
#[tokio::test]
async fn an_unknown_database_is_named_and_passwords_are_not() {
    let database = format!("no_such_db_{}", std::process::id());
    let message = connect_error(&url_with("s3cret-pw", &database), None).await;
    assert!(message.contains(&format!("/{database}: ")), "{message}");
    assert!(
        message.contains(&format!(
            "database \"{database}\" does not exist (SQLSTATE 3D000)"
        )),
        "{message}"
    );
    assert!(!message.contains("s3cret-pw"), "{message}");

    let message = connect_error("postgres://postgres:s3cret-pw@127.0.0.1:port/test", None).await;
    assert!(message.contains("is not valid"), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
}

/// A schema named with capitals, a dash, a blank and a double quote: `triage import` fills
/// it, a server's connection (whose search path names it) reads it back, and it is dropped
/// whole, with no other schema made on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_name_of_any_characters_is_one_schema() {
    let namespace = Namespace {
        name: format!("Scale-X \"{}\"", Namespace::new("quoted").name),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let imported = namespace.import_agency();
    assert!(imported.contains("imported 6 clients"), "{imported}");
    assert!(schema_exists(&namespace.name).await);

    let status = PgStatus::new(namespace.postgres().await);
    let pack = Pack::load(&root.join("data/agency")).unwrap();
    let store = StatusStore::for_pack(&pack, jiff::Timestamp::now()).unwrap();
    let acme = status
        .client("acme")
        .await
        .unwrap()
        .expect("acme was imported");
    assert_eq!(acme.name, store.client("acme").unwrap().name);
    assert_eq!(status.client_count().await.unwrap(), 6);
    assert_eq!(status.healthy().await, Ok(()));

    namespace.remove().await;
    assert!(!schema_exists(&namespace.name).await);
}

/// A migration refused by the server (here by an event trigger the test installs for its own
/// schema only) fails the start with the migration, the address and the server's reason, and
/// leaves no schema behind: the schema is created in the migrations' transaction.
#[tokio::test]
async fn a_failed_migration_leaves_no_schema() {
    let namespace = Namespace::new("refused");
    let guard = format!("{}_refuse", namespace.name);
    let admin = Postgres::open(&postgres_url(), None, 1).unwrap();
    let client = admin.client().await.expect("postgres connection");
    client
        .batch_execute(&format!(
            "CREATE FUNCTION {guard}() RETURNS event_trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()
                            WHERE schema_name = '{schema}' AND object_type = 'table'
                              AND object_identity LIKE '%.clients') THEN
                     RAISE EXCEPTION 'clients refused by the test';
                 END IF;
             END $$;
             CREATE EVENT TRIGGER {guard} ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
                 EXECUTE FUNCTION {guard}();",
            schema = namespace.name
        ))
        .await
        .expect("install the event trigger");
    let failed = Postgres::connect(&postgres_url(), Some(&namespace.name), 1).await;
    // Removed before any assertion, so that a failure leaves no trigger in the database.
    client
        .batch_execute(&format!(
            "DROP EVENT TRIGGER {guard}; DROP FUNCTION {guard}();"
        ))
        .await
        .expect("remove the event trigger");
    let message = match failed {
        Ok(_) => panic!("the migration was not refused"),
        Err(err) => err.to_string(),
    };
    assert!(
        message.contains(&format!(
            "(schema \"{}\"): migration 0001_init failed: ",
            namespace.name
        )),
        "{message}"
    );
    assert!(
        message.contains("clients refused by the test (SQLSTATE P0001)"),
        "{message}"
    );
    assert!(
        !schema_exists(&namespace.name).await,
        "the schema was left behind"
    );
}
