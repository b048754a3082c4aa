//! The bench's workload: the inquiries it sends, as a CSV file (`client_id,text`), and how
//! such a file is made from a pack's labelled test rows and its clients' status data.

use std::path::Path;

use anyhow::{Context, Result};
use triage::answer::{Client, StatusData};
use triage::pack::{Pack, Target};

use super::load::{BenchInquiry, BenchMode};

/// The workload of `mode` from `pack`'s labelled test rows and its status data. A client asks
/// about its own projects, invoices or cards, so a direct row is sent for each client whose
/// data answers it (read with the row's true intent, not the model's guess, at the data's
/// `as_of`) and for no other; a row no client's data answers is left out. Expert rows go to the
/// clients in turn.
pub fn from_pack(pack: &Pack, status: &StatusData, mode: BenchMode) -> Vec<BenchInquiry> {
    let clients = status.clients();
    let asked_at = status.as_of().start();
    let mut inquiries = Vec::new();
    for (row, example) in pack.test.iter().enumerate() {
        let Some(intent) = example.intent.map(|i| &pack.intents[i]) else {
            continue;
        };
        let inquiry = |client: &Client| BenchInquiry {
            client_id: client.id.clone(),
            text: example.text.clone(),
        };
        match (mode, &intent.target) {
            (BenchMode::Direct, Target::StatusKind(kind)) => inquiries.extend(
                clients
                    .iter()
                    .filter(|client| {
                        let reader = status.reader(Some(client), None, &example.text);
                        status
                            .answer(client, &intent.name, kind, &example.text, asked_at, &reader)
                            .is_ok()
                    })
                    .map(|client| inquiry(client)),
            ),
            (BenchMode::Expert, Target::Queue(_)) if !clients.is_empty() => {
                inquiries.push(inquiry(&clients[row % clients.len()]));
            }
            _ => {}
        }
    }
    inquiries
}

/// Where the committed workload of `mode` is, relative to the repository.
pub fn default_path(mode: BenchMode) -> &'static str {
    match mode {
        BenchMode::Direct => "benches/workload/agency-direct.csv",
        BenchMode::Expert => "benches/workload/agency-expert.csv",
    }
}

/// Reads a workload file; an empty one is an error.
pub fn read(path: &Path) -> Result<Vec<BenchInquiry>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read the workload {}", path.display()))?;
    let mut inquiries = Vec::new();
    for (row, record) in reader.deserialize().enumerate() {
        // Line 1 is the header.
        let inquiry: BenchInquiry =
            record.with_context(|| format!("{}:{}", path.display(), row + 2))?;
        inquiries.push(inquiry);
    }
    anyhow::ensure!(
        !inquiries.is_empty(),
        "{}: the workload has no inquiry",
        path.display()
    );
    Ok(inquiries)
}

/// Writes `inquiries` as a workload file.
pub fn write(path: &Path, inquiries: &[BenchInquiry]) -> Result<()> {
    let mut writer = csv::Writer::from_path(path)
        .with_context(|| format!("cannot write the workload {}", path.display()))?;
    for inquiry in inquiries {
        writer.serialize(inquiry)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use triage::answer::StatusStore;
    use triage::pack::Tier;

    use super::*;

    fn agency() -> (Pack, std::sync::Arc<StatusData>) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/agency");
        let pack = Pack::load(&dir).expect("agency pack");
        let status = StatusStore::for_pack(&pack, jiff::Timestamp::now())
            .expect("status")
            .snapshot();
        (pack, status)
    }

    /// Direct rows go only to clients whose data answers them; expert rows to the clients in
    /// turn; neither mode sends the other's rows.
    #[test]
    fn workload_pairs_rows_with_clients() {
        let (pack, status) = agency();
        let tier_of = |text: &str| {
            let row = pack
                .test
                .iter()
                .find(|e| e.text == text)
                .expect("a test row");
            pack.intents[row.intent.expect("labelled")].tier
        };
        let direct = from_pack(&pack, &status, BenchMode::Direct);
        let mut clients_by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for inquiry in &direct {
            assert_eq!(tier_of(&inquiry.text), Tier::Direct);
            clients_by_text
                .entry(&inquiry.text)
                .or_default()
                .push(&inquiry.client_id);
        }
        let all = status.clients().len();
        assert!(clients_by_text.values().any(|clients| clients.len() < all));
        let asks = |text: &str, client: &str| {
            clients_by_text
                .get(text)
                .is_some_and(|clients| clients.contains(&client))
        };
        // Acme's data has a homepage design to tell about; Kettle's has none.
        let homepage = "is the new homepage design ready yet?";
        assert!(asks(homepage, "acme") && !asks(homepage, "kettle"));
        // Acme's wireframes are the homepage's: a careers page's are a record it does not have.
        let careers = "when's the wireframe for the careers page gonna be ready";
        assert!(!asks(careers, "acme"));

        let expert = from_pack(&pack, &status, BenchMode::Expert);
        assert!(!expert.is_empty());
        assert!(expert.iter().all(|i| tier_of(&i.text) == Tier::Expert));
        let distinct: BTreeSet<&str> = expert.iter().map(|i| i.client_id.as_str()).collect();
        assert_eq!(distinct.len(), all);
    }

    /// The committed workloads are the ones the agency pack gives today.
    #[test]
    fn committed_workloads_match_the_pack() {
        let (pack, status) = agency();
        for mode in [BenchMode::Direct, BenchMode::Expert] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(default_path(mode));
            assert_eq!(
                read(&path).expect("the committed workload"),
                from_pack(&pack, &status, mode),
                "{} is stale: rewrite it with `triage bench-workload`",
                path.display()
            );
        }
    }

    /// A workload survives a round trip through its file, commas, quotes and newlines too;
    /// a bad row names its file and line.
    #[test]
    fn files_round_trip_and_bad_rows_name_their_line() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("w.csv");
        let inquiries = vec![
            BenchInquiry {
                client_id: "acme".into(),
                text: "is invoice 1042, \"the big one\", paid?\nthanks".into(),
            },
            BenchInquiry {
                client_id: "kettle".into(),
                text: "报告什么时候好?".into(),
            },
        ];
        write(&path, &inquiries).expect("written");
        assert_eq!(read(&path).expect("read"), inquiries);

        std::fs::write(&path, "client_id,text\nacme,fine\nonly-one-field\n").expect("written");
        let error = format!("{:#}", read(&path).unwrap_err());
        assert!(error.contains("w.csv:3"), "{error}");
        std::fs::write(&path, "client_id,text\n").expect("written");
        assert!(read(&path).is_err());
    }
}
