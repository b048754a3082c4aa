//! The pack files on disk: reloading changed and broken files, and the errors bad files give.

use std::path::Path;

use super::{as_of, direct_intents, pack_dir, status_settings};
use crate::answer::{STATUS_FILE, StatusData, StatusStore, TEMPLATES_FILE};

/// A pack folder in a temporary directory, seeded with the agency pack's files.
fn copied_agency() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in [STATUS_FILE, TEMPLATES_FILE] {
        std::fs::copy(pack_dir("agency").join(file), dir.path().join(file)).expect("copy");
    }
    dir
}

/// Loads the agency files in `dir` for `intents`, at the agency data's `as_of`.
fn load(
    dir: &Path,
    intents: &[(String, String)],
) -> Result<StatusData, crate::answer::AnswerError> {
    StatusData::load(dir, intents, &status_settings("agency"), as_of("agency"))
}

/// Replaces the first `from` in the file at `path` with `to`.
fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

/// The due date the data gives for Acme's final report.
fn final_report_due(data: &StatusData) -> Option<String> {
    let client = data.client("acme")?;
    let text = "the final report";
    let reader = data.reader(Some(client), None, text);
    let answer = data
        .answer(
            client,
            "deliverable_eta",
            "deliverable",
            text,
            as_of("agency"),
            &reader,
        )
        .ok()?;
    answer
        .facts
        .into_iter()
        .find(|fact| fact.name == "due")
        .map(|fact| fact.value)
}

/// Reload picks up a changed file, and keeps serving the old data when the new file is broken.
#[test]
fn reload_swaps_good_data_and_keeps_it_on_error() {
    let dir = copied_agency();
    let at = as_of("agency");
    let store = StatusStore::open(
        dir.path(),
        direct_intents("agency"),
        status_settings("agency"),
        at,
    )
    .expect("open");
    assert_eq!(
        final_report_due(&store.snapshot()).as_deref(),
        Some("2026-11-28")
    );
    let held = store.snapshot();
    let status = dir.path().join(STATUS_FILE);
    replace_in(&status, r#""due": "2026-11-28""#, r#""due": "2026-12-01""#);
    store.reload(at).expect("reload");
    assert_eq!(
        final_report_due(&store.snapshot()).as_deref(),
        Some("2026-12-01")
    );
    // A snapshot taken before the reload still sees the data it was taken from.
    assert_eq!(final_report_due(&held).as_deref(), Some("2026-11-28"));

    std::fs::write(&status, "{ not json").expect("write");
    let error = store.reload(at).expect_err("broken file").to_string();
    assert!(error.contains(STATUS_FILE), "{error}");
    assert_eq!(
        final_report_due(&store.snapshot()).as_deref(),
        Some("2026-12-01")
    );

    let templates = dir.path().join(TEMPLATES_FILE);
    replace_in(&templates, "select = \"next\"", "select = \"soonest\"");
    let error = store.reload(at).expect_err("broken templates").to_string();
    assert!(error.contains(TEMPLATES_FILE), "{error}");
    assert_eq!(
        final_report_due(&store.snapshot()).as_deref(),
        Some("2026-12-01")
    );
    let name = store.client("kettle").map(|client| client.name.clone());
    assert_eq!(name.as_deref(), Some("Kettle & Crumb Bakery"));
    let sender = store.client_for_email("Anyone@Lumenlegal.example");
    assert_eq!(
        sender.map(|client| client.id.clone()).as_deref(),
        Some("lumen")
    );
}

/// Bad data in the shipped format is reported with the file and the client or entity.
#[test]
fn bad_data_files_name_file_and_record() {
    let cases = [
        (
            r#""tier": "platinum""#,
            r#""tier": "diamond""#,
            "client \"brightwave\": unknown tier \"diamond\"",
        ),
        (
            r#""id": "D-117""#,
            r#""id": "D-114""#,
            "client \"acme\": duplicate entity id \"D-114\"",
        ),
        (
            r#""name": "Homepage wireframes""#,
            r#""name": """#,
            "client \"acme\", entity \"D-119\": empty name",
        ),
        (
            r#""id": "kettle""#,
            r#""id": "acme""#,
            "client \"acme\": id \"acme\" already belongs to client \"acme\"",
        ),
        (
            r#""period_end": "2026-10-31", "figures_to": "2026-10-24""#,
            r#""period_end": "October", "figures_to": "2026-10-24""#,
            "client \"lumen\", entity \"C-LL-2026-10\": field \"period_end\" is \"October\", not a date",
        ),
    ];
    for (from, to, expected) in cases {
        let dir = copied_agency();
        replace_in(&dir.path().join(STATUS_FILE), from, to);
        let error = load(dir.path(), &direct_intents("agency"))
            .expect_err(expected)
            .to_string();
        assert!(
            error.contains(STATUS_FILE) && error.contains(expected),
            "{error} lacks {expected}"
        );
    }
}

/// Unknown template keys and a status kind without a template stop the load.
#[test]
fn bad_templates_are_rejected() {
    let dir = copied_agency();
    let templates = dir.path().join(TEMPLATES_FILE);
    replace_in(
        &templates,
        "order_by = \"starts_at\"",
        "order_by = \"starts_at\"\nsort = \"asc\"",
    );
    let error = load(dir.path(), &direct_intents("agency"))
        .expect_err("unknown key")
        .to_string();
    assert!(
        error.contains(TEMPLATES_FILE) && error.contains("unknown field `sort`"),
        "{error}"
    );

    let dir = copied_agency();
    let mut intents = direct_intents("agency");
    intents.push(("contract_renewal".into(), "contract".into()));
    let error = load(dir.path(), &intents)
        .expect_err("no contract template")
        .to_string();
    assert!(
        error.ends_with(
            "templates.toml: no template for status kind \"contract\" (intents contract_renewal)"
        ),
        "{error}"
    );
}
