//! Domain packs: a helpdesk's intents, tiers, queues and labelled examples, loaded from
//! `data/<pack>/` and validated.
//!
//! The format is a contract that outside tools read and write (see the README):
//! `intents.csv` (`intent,tier,queue,status_kind`), `train.csv` and `test.csv` (`text,label`, where
//! the label `oos` marks an out-of-scope row: in `train.csv`, an example of what the pack does not
//! serve, which the model learns as a class of its own), an optional `queues.csv`
//! (`queue,description,sla_hours`, optionally followed by per-client-tier `sla_hours_<tier>`
//! columns), an optional `canned.csv` (`queue,code,text`: the queues' canned replies,
//! [`canned`]) and an optional `pack.toml` with the pack's settings.
//! Every error names the file and, for a bad row, its line; a file that is not UTF-8 is refused
//! with the line and byte of its first bad sequence, and a UTF-8 byte order mark is skipped.
//! Values from the files are quoted in messages cut short with control characters escaped.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::answer::ClientTier;
use crate::text::{EncodingError, printable, quoted, utf8_text};

pub mod canned;
pub use canned::CannedReply;

/// The label of an out-of-scope row.
pub const OUT_OF_SCOPE_LABEL: &str = "oos";

/// Why a pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    BadRow {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    /// The file is not UTF-8 text; the error says where it stops being it.
    #[error("{path}: {source}")]
    Encoding {
        path: PathBuf,
        source: EncodingError,
    },
}

/// The longest service-level target a queue may have, in hours (ten years): a longer one
/// means no target, and a deadline that far out would leave the range of times a ticket's
/// due date is written in.
pub const MAX_SLA_HOURS: f64 = 10.0 * 365.0 * 24.0;

/// Whether an intent is answered from status data or needs a specialist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Direct,
    Expert,
}

impl Tier {
    /// The tier's name as written in `intents.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Direct => "direct",
            Tier::Expert => "expert",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One intent of the pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub name: String,
    pub tier: Tier,
    /// What a direct intent is answered from, or the queue an expert intent goes to.
    pub target: Target,
}

/// Where an intent's inquiries end up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A direct intent: the kind of status record its answer is read from.
    StatusKind(String),
    /// An expert intent: the specialist queue it is routed to.
    Queue(String),
}

impl Target {
    /// The status kind or queue name.
    pub fn name(&self) -> &str {
        match self {
            Target::StatusKind(name) | Target::Queue(name) => name,
        }
    }
}

/// A specialist queue with its service-level target, which a client tier may override.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub name: String,
    pub description: String,
    /// The target for a tier without an override and for a sender of no known client.
    pub sla_hours: f64,
    /// The tiers whose target differs, from the `sla_hours_<tier>` columns.
    pub sla_hours_by_tier: BTreeMap<ClientTier, f64>,
}

impl Queue {
    /// The service-level target of a ticket from a client of `tier`, or from a sender of no
    /// known client (`None`): the tier's override, else `sla_hours`.
    pub fn sla_hours_for(&self, tier: Option<ClientTier>) -> f64 {
        tier.and_then(|tier| self.sla_hours_by_tier.get(&tier).copied())
            .unwrap_or(self.sla_hours)
    }
}

/// One labelled text; `intent` is `None` for an out-of-scope (`oos`) row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub intent: Option<usize>,
    /// The line of its file the row starts on, for messages about it.
    pub line: u64,
}

/// The pack's settings from `pack.toml`; every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackSettings {
    /// The pack's name; defaults to its folder's name.
    #[serde(default)]
    pub name: Option<String>,
    /// A line saying what the pack is.
    #[serde(default)]
    pub description: String,
    /// The queue that takes inquiries the model is unsure of.
    #[serde(default = "default_escalation_queue")]
    pub escalation_queue: String,
    /// The most expert inquiries the default threshold may answer automatically, as a share of
    /// the expert rows of the validation split.
    #[serde(default = "default_max_expert_sent_direct")]
    pub max_expert_sent_direct: f64,
    /// The least share of correct automatic answers the default threshold must give on the
    /// validation split.
    #[serde(default = "default_min_auto_answer_precision")]
    pub min_auto_answer_precision: f64,
    /// The least probability of a queue for an expert inquiry to be routed there rather than
    /// escalated.
    #[serde(default = "default_min_route_confidence")]
    pub min_route_confidence: f32,
    /// The least a trained model must reach on the validation split to be written.
    #[serde(default)]
    pub quality: QualityFloors,
    /// How old the status data may be, and whether its dates move to the day of loading.
    #[serde(default)]
    pub status: StatusSettings,
    /// How many days after its resolution a client's reply in the thread reopens a ticket
    /// (ready again on its queue, same id) instead of being decided afresh.
    #[serde(default = "default_reopen_within_days")]
    pub reopen_within_days: u32,
    /// The clients' time zone, an IANA name such as `Europe/Berlin`: what "today" and
    /// "tomorrow" mean in the expected waits told to them.
    #[serde(default)]
    pub time_zone: PackTimeZone,
}

/// The pack's `time_zone`: an IANA name, resolved once at load against the time zone database
/// built into the binary, so that an unknown name is refused there, naming the key.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct PackTimeZone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl PackTimeZone {
    /// The zone's IANA name, as written in `pack.toml`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone, with its rules (offsets and daylight saving time).
    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }
}

/// UTC, for a pack that names no zone.
impl Default for PackTimeZone {
    fn default() -> Self {
        Self {
            name: "UTC".to_owned(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }
}

impl TryFrom<String> for PackTimeZone {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        let zone = jiff::tz::TimeZone::get(&name).map_err(|_| {
            format!(
                "time_zone {} is not an IANA time zone name (such as Europe/Berlin)",
                quoted(&name)
            )
        })?;
        Ok(Self { name, zone })
    }
}

/// Two zones are the same setting when they have the same name.
impl PartialEq for PackTimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The `[status]` table of `pack.toml`: how old the status data may be when answers are read
/// from it, measured from its `as_of` to the inquiry's receive time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSettings {
    /// Answers from data older than this many hours say when the data is from.
    #[serde(default = "default_as_of_note_after_hours")]
    pub as_of_note_after_hours: u64,
    /// Data older than this many hours is not answered from: a person answers, told why.
    #[serde(default = "default_max_age_hours")]
    pub max_age_hours: u64,
    /// Moves every date of the status data by whole days so that its `as_of` falls on the day
    /// it is loaded (or reloaded): for sample data that should work whatever the day.
    #[serde(default)]
    pub shift_to_today: bool,
}

fn default_as_of_note_after_hours() -> u64 {
    24
}

fn default_max_age_hours() -> u64 {
    7 * 24
}

impl Default for StatusSettings {
    fn default() -> Self {
        Self {
            as_of_note_after_hours: default_as_of_note_after_hours(),
            max_age_hours: default_max_age_hours(),
            shift_to_today: false,
        }
    }
}

/// The `[quality]` table of `pack.toml`: the floors below which `triage train` refuses to write
/// a model (unless told to accept low quality) and `triage eval` warns.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityFloors {
    /// The least top-1 intent accuracy on the validation split.
    #[serde(default = "default_min_intent_accuracy")]
    pub min_intent_accuracy: f64,
    /// The least share of direct validation rows answered automatically and correctly (ignored
    /// when the pack has no direct intent).
    #[serde(default = "default_min_deflection")]
    pub min_deflection: f64,
    /// The fewest validation rows the figures above are trusted on; a smaller split measures
    /// nothing and calibrates the answer threshold on a handful of rows.
    #[serde(default = "default_min_validation_rows")]
    pub min_validation_rows: usize,
}

fn default_min_validation_rows() -> usize {
    20
}

fn default_min_intent_accuracy() -> f64 {
    0.5
}

fn default_min_deflection() -> f64 {
    0.2
}

impl Default for QualityFloors {
    fn default() -> Self {
        Self {
            min_intent_accuracy: default_min_intent_accuracy(),
            min_deflection: default_min_deflection(),
            min_validation_rows: default_min_validation_rows(),
        }
    }
}

fn default_escalation_queue() -> String {
    "account_management".to_owned()
}

fn default_reopen_within_days() -> u32 {
    7
}

fn default_max_expert_sent_direct() -> f64 {
    0.02
}

fn default_min_auto_answer_precision() -> f64 {
    0.95
}

fn default_min_route_confidence() -> f32 {
    0.5
}

impl Default for PackSettings {
    fn default() -> Self {
        Self {
            name: None,
            description: String::new(),
            escalation_queue: default_escalation_queue(),
            max_expert_sent_direct: default_max_expert_sent_direct(),
            min_auto_answer_precision: default_min_auto_answer_precision(),
            min_route_confidence: default_min_route_confidence(),
            quality: QualityFloors::default(),
            status: StatusSettings::default(),
            reopen_within_days: default_reopen_within_days(),
            time_zone: PackTimeZone::default(),
        }
    }
}

/// A loaded and validated domain pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    pub dir: PathBuf,
    pub settings: PackSettings,
    pub intents: Vec<Intent>,
    pub queues: Vec<Queue>,
    pub train: Vec<Example>,
    /// The test rows; empty when the pack has no `test.csv`.
    pub test: Vec<Example>,
    /// The queues' canned replies; empty when the pack has no `canned.csv`.
    pub canned: Vec<CannedReply>,
}

impl Pack {
    /// Loads the pack in `dir` and validates it.
    pub fn load(dir: &Path) -> Result<Self, PackError> {
        let settings = load_settings(&dir.join("pack.toml"))?;
        let intents_path = dir.join("intents.csv");
        let (intents, intent_lines) = load_intents(&intents_path)?;
        let queues = load_queues(&dir.join("queues.csv"))?;
        if let Some(queues) = &queues {
            check_intent_queues(&intents_path, &intents, &intent_lines, queues)?;
        }
        let queues = queues.unwrap_or_default();
        let canned = canned::load_canned(&dir.join(canned::CANNED_FILE), &queues)?;
        let by_name: HashMap<&str, usize> = intents
            .iter()
            .enumerate()
            .map(|(index, intent)| (intent.name.as_str(), index))
            .collect();
        let train = load_examples(&dir.join("train.csv"), &by_name)?;
        check_every_intent_has_examples(&dir.join("train.csv"), &intents, &train)?;
        let test_path = dir.join("test.csv");
        let test = if test_path.exists() {
            load_examples(&test_path, &by_name)?
        } else {
            Vec::new()
        };
        let name = settings.name.clone().unwrap_or_else(|| {
            dir.canonicalize()
                .unwrap_or_else(|_| dir.to_path_buf())
                .file_name()
                .map_or_else(|| "pack".to_owned(), |n| n.to_string_lossy().into_owned())
        });
        Ok(Self {
            name,
            dir: dir.to_path_buf(),
            settings,
            intents,
            queues,
            train,
            test,
            canned,
        })
    }

    /// A digest of what a model is trained on (intents and training rows): a model trained on
    /// other data does not match the pack.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for intent in &self.intents {
            hasher.update(intent.name.as_bytes());
            hasher.update([0, intent.tier as u8]);
            hasher.update(intent.target.name().as_bytes());
            hasher.update([0xff]);
        }
        for example in &self.train {
            hasher.update(example.text.as_bytes());
            hasher.update(example.intent.unwrap_or(usize::MAX).to_le_bytes());
        }
        hex(&hasher.finalize())
    }

    /// The index of the intent named `name`.
    pub fn intent_index(&self, name: &str) -> Option<usize> {
        self.intents.iter().position(|intent| intent.name == name)
    }
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of a pack file: UTF-8 without a byte order mark, or an error saying where it is
/// not.
fn read_file(path: &Path) -> Result<String, PackError> {
    let bytes = std::fs::read(path).map_err(|source| PackError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    utf8_text(bytes).map_err(|source| PackError::Encoding {
        path: path.to_path_buf(),
        source,
    })
}

fn load_settings(path: &Path) -> Result<PackSettings, PackError> {
    if !path.exists() {
        return Ok(PackSettings::default());
    }
    let settings: PackSettings =
        toml::from_str(&read_file(path)?).map_err(|error| PackError::BadFile {
            path: path.to_path_buf(),
            message: printable(error.message()),
        })?;
    let shares = [
        ("max_expert_sent_direct", settings.max_expert_sent_direct),
        (
            "min_auto_answer_precision",
            settings.min_auto_answer_precision,
        ),
        (
            "min_route_confidence",
            f64::from(settings.min_route_confidence),
        ),
        (
            "quality.min_intent_accuracy",
            settings.quality.min_intent_accuracy,
        ),
        ("quality.min_deflection", settings.quality.min_deflection),
    ];
    let bad = |message: String| PackError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    if let Some((key, value)) = shares
        .into_iter()
        .find(|(_, value)| !(0.0..=1.0).contains(value))
    {
        return Err(bad(format!("{key} is {value}, it must lie in [0, 1]")));
    }
    let status = settings.status;
    if status.max_age_hours == 0 || status.as_of_note_after_hours > status.max_age_hours {
        return Err(bad(format!(
            "status.max_age_hours ({}) must be above 0 and at least status.as_of_note_after_hours ({})",
            status.max_age_hours, status.as_of_note_after_hours
        )));
    }
    Ok(settings)
}

/// Reads a CSV file with the expected header and hands each record, with its line, to `row`.
fn for_each_record(
    path: &Path,
    header: &[&str],
    optional: &[&str],
    mut row: impl FnMut(u64, &csv::StringRecord, &[String]) -> Result<(), String>,
) -> Result<(), PackError> {
    let content = read_file(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(content.as_bytes());
    let bad_file = |message: String| PackError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let found = reader
        .headers()
        .map_err(|error| bad_file(error.to_string()))?;
    let found: Vec<String> = found.iter().map(|name| name.trim().to_owned()).collect();
    if found.len() < header.len() || found[..header.len()].iter().ne(header.iter()) {
        return Err(bad_file(format!(
            "expected the header `{}`, found {}",
            header.join(","),
            quoted(&found.join(","))
        )));
    }
    let extra = &found[header.len()..];
    for (index, column) in extra.iter().enumerate() {
        if !optional.contains(&column.as_str()) {
            return Err(bad_file(format!(
                "unknown column {}; after `{}` only {} may follow",
                quoted(column),
                header.join(","),
                optional.join(", ")
            )));
        }
        if extra[..index].contains(column) {
            return Err(bad_file(format!(
                "column {} is given twice",
                quoted(column)
            )));
        }
    }
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, |p| p.line());
            PackError::BadRow {
                path: path.to_path_buf(),
                line,
                message: printable(&error.to_string()),
            }
        })?;
        let line = record.position().map_or(0, |p| p.line());
        row(line, &record, extra).map_err(|message| PackError::BadRow {
            path: path.to_path_buf(),
            line,
            message,
        })?;
    }
    Ok(())
}

/// The intents of `path`, with the line each is on.
fn load_intents(path: &Path) -> Result<(Vec<Intent>, Vec<u64>), PackError> {
    let mut intents: Vec<Intent> = Vec::new();
    let mut lines = Vec::new();
    for_each_record(
        path,
        &["intent", "tier", "queue", "status_kind"],
        &[],
        |line, record, _| {
            let [name, tier, queue, status_kind] = [0, 1, 2, 3].map(|i| record[i].trim());
            if name.is_empty() || name == OUT_OF_SCOPE_LABEL {
                return Err(format!("{} is not a valid intent name", quoted(name)));
            }
            if intents.iter().any(|intent| intent.name == name) {
                return Err(format!("intent {} is listed twice", quoted(name)));
            }
            let (tier, target) = match tier {
                "direct" if !status_kind.is_empty() && queue.is_empty() => {
                    (Tier::Direct, Target::StatusKind(status_kind.to_owned()))
                }
                "expert" if !queue.is_empty() && status_kind.is_empty() => {
                    (Tier::Expert, Target::Queue(queue.to_owned()))
                }
                "direct" => {
                    return Err(format!(
                        "direct intent {} needs a status_kind and no queue",
                        quoted(name)
                    ));
                }
                "expert" => {
                    return Err(format!(
                        "expert intent {} needs a queue and no status_kind",
                        quoted(name)
                    ));
                }
                other => {
                    return Err(format!(
                        "unknown tier {} (expected `direct` or `expert`)",
                        quoted(other)
                    ));
                }
            };
            intents.push(Intent {
                name: name.to_owned(),
                tier,
                target,
            });
            lines.push(line);
            Ok(())
        },
    )?;
    if intents.len() < 2 {
        return Err(PackError::BadFile {
            path: path.to_path_buf(),
            message: format!("a pack needs at least 2 intents, found {}", intents.len()),
        });
    }
    Ok((intents, lines))
}

/// The optional `queues.csv` column holding `tier`'s service-level target.
fn tier_sla_column(tier: ClientTier) -> String {
    format!("sla_hours_{tier}")
}

/// The queues of `path`, or `None` when the pack has no `queues.csv`.
fn load_queues(path: &Path) -> Result<Option<Vec<Queue>>, PackError> {
    if !path.exists() {
        return Ok(None);
    }
    const HEADER: [&str; 3] = ["queue", "description", "sla_hours"];
    let tier_columns = ClientTier::ALL.map(tier_sla_column);
    let optional = tier_columns.each_ref().map(String::as_str);
    let mut queues: Vec<Queue> = Vec::new();
    for_each_record(path, &HEADER, &optional, |_, record, extra| {
        let name = record[0].trim();
        if name.is_empty() || queues.iter().any(|queue| queue.name == name) {
            return Err(format!("queue {} is empty or listed twice", quoted(name)));
        }
        let sla_hours = sla_hours_in("sla_hours", record[2].trim(), name)?;
        let mut sla_hours_by_tier = BTreeMap::new();
        for (column, written) in extra.iter().zip(record.iter().skip(HEADER.len())) {
            let written = written.trim();
            // An empty cell keeps the queue's `sla_hours` for the tier.
            if written.is_empty() {
                continue;
            }
            let Some(tier) = ClientTier::ALL
                .into_iter()
                .find(|&tier| &tier_sla_column(tier) == column)
            else {
                // The header check admits only tier columns after the required ones.
                continue;
            };
            sla_hours_by_tier.insert(tier, sla_hours_in(column, written, name)?);
        }
        queues.push(Queue {
            name: name.to_owned(),
            description: record[1].trim().to_owned(),
            sla_hours,
            sla_hours_by_tier,
        });
        Ok(())
    })?;
    Ok(Some(queues))
}

/// The hours `written` in `column` for `queue`: a finite number above 0 and at most
/// [`MAX_SLA_HOURS`].
fn sla_hours_in(column: &str, written: &str, queue: &str) -> Result<f64, String> {
    let sla_hours: f64 = written.parse().map_err(|_| {
        format!(
            "{column} {} of queue {} is not a number",
            quoted(written),
            quoted(queue)
        )
    })?;
    // `inf`, `NaN` and `1e400` (which parses as infinity) are numbers to Rust, not hours.
    if !sla_hours.is_finite() {
        return Err(format!(
            "{column} {} of queue {} is not a finite number of hours",
            quoted(written),
            quoted(queue)
        ));
    }
    if !(sla_hours > 0.0 && sla_hours <= MAX_SLA_HOURS) {
        return Err(format!(
            "{column} {} of queue {} must be above 0 and at most {MAX_SLA_HOURS} (ten years)",
            quoted(written),
            quoted(queue)
        ));
    }
    Ok(sla_hours)
}

/// Every expert intent's queue must be among the listed `queues`; an intent whose queue is not
/// is reported at its line of `intents.csv` (`path`).
fn check_intent_queues(
    path: &Path,
    intents: &[Intent],
    lines: &[u64],
    queues: &[Queue],
) -> Result<(), PackError> {
    for (intent, &line) in intents.iter().zip(lines) {
        if let Target::Queue(queue) = &intent.target
            && !queues.iter().any(|q| &q.name == queue)
        {
            return Err(PackError::BadRow {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "intent {} routes to queue {}, which queues.csv does not list",
                    quoted(&intent.name),
                    quoted(queue)
                ),
            });
        }
    }
    Ok(())
}

fn load_examples(path: &Path, intents: &HashMap<&str, usize>) -> Result<Vec<Example>, PackError> {
    let mut examples = Vec::new();
    for_each_record(path, &["text", "label"], &[], |line, record, _| {
        let (text, label) = (record[0].trim(), record[1].trim());
        if text.is_empty() {
            return Err("the text is empty".to_owned());
        }
        let intent = match intents.get(label) {
            Some(&index) => Some(index),
            None if label == OUT_OF_SCOPE_LABEL => None,
            None => {
                return Err(format!(
                    "label {} is not an intent of intents.csv",
                    quoted(label)
                ));
            }
        };
        examples.push(Example {
            text: text.to_owned(),
            intent,
            line,
        });
        Ok(())
    })?;
    Ok(examples)
}

fn check_every_intent_has_examples(
    path: &Path,
    intents: &[Intent],
    train: &[Example],
) -> Result<(), PackError> {
    let mut counts = vec![0usize; intents.len()];
    for intent in train.iter().filter_map(|example| example.intent) {
        counts[intent] += 1;
    }
    let missing: Vec<String> = intents
        .iter()
        .zip(&counts)
        .filter(|(_, count)| **count == 0)
        .map(|(intent, _)| quoted(&intent.name).to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PackError::BadFile {
            path: path.to_path_buf(),
            message: format!("no training example for intent(s) {}", missing.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pack(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        dir
    }

    const INTENTS: &str = "intent,tier,queue,status_kind\n\
        eta,direct,,deliverable\n\
        advice,expert,content,\n";
    const TRAIN: &str = "text,label\nwhen is it ready,eta\nwhat should we write,advice\n";

    fn load_error(files: &[(&str, &str)]) -> String {
        let dir = write_pack(files);
        Pack::load(dir.path()).unwrap_err().to_string()
    }

    #[test]
    fn loads_a_valid_pack() {
        let dir = write_pack(&[
            ("intents.csv", INTENTS),
            ("train.csv", &format!("{TRAIN}who won the match,oos\n")),
            (
                "test.csv",
                "text,label\n\"ready, yet?\",eta\nweather?,oos\n",
            ),
        ]);
        let pack = Pack::load(dir.path()).unwrap();
        assert_eq!(pack.intents.len(), 2);
        assert_eq!(pack.intents[1].target, Target::Queue("content".into()));
        assert_eq!(pack.test[0].text, "ready, yet?");
        assert_eq!(pack.test[1].intent, None);
        assert_eq!(pack.settings, PackSettings::default());
        assert_eq!(pack.test[0].line, 2);
        assert_eq!(pack.train[2].intent, None, "an out-of-scope training row");
    }

    /// The quality floors are read from `[quality]`, each optional.
    #[test]
    fn reads_the_quality_floors() {
        let dir = write_pack(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("pack.toml", "[quality]\nmin_intent_accuracy = 0.8\n"),
        ]);
        let quality = Pack::load(dir.path()).unwrap().settings.quality;
        assert_eq!(quality.min_intent_accuracy, 0.8);
        assert_eq!(
            quality.min_deflection,
            QualityFloors::default().min_deflection
        );
    }

    /// The status settings are read from `[status]`, each optional, and checked together.
    #[test]
    fn reads_the_status_settings() {
        let dir = write_pack(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            (
                "pack.toml",
                "[status]\nmax_age_hours = 48\nshift_to_today = true\n",
            ),
        ]);
        let status = Pack::load(dir.path()).unwrap().settings.status;
        assert_eq!(
            status,
            StatusSettings {
                as_of_note_after_hours: 24,
                max_age_hours: 48,
                shift_to_today: true,
            }
        );
        for (setting, expected) in [
            (
                "max_age_hours = 0",
                "status.max_age_hours (0) must be above 0",
            ),
            (
                "max_age_hours = 12",
                "must be above 0 and at least status.as_of_note_after_hours (24)",
            ),
            ("max_age = 12", "unknown field `max_age`"),
        ] {
            let error = load_error(&[
                ("intents.csv", INTENTS),
                ("train.csv", TRAIN),
                ("pack.toml", &format!("[status]\n{setting}\n")),
            ]);
            assert!(
                error.contains("pack.toml") && error.contains(expected),
                "{error} lacks {expected}"
            );
        }
    }

    /// The time zone is UTC unless named; a named zone is resolved at load and an unknown name
    /// is refused with the key that holds it.
    #[test]
    fn reads_the_time_zone() {
        let default = write_pack(&[("intents.csv", INTENTS), ("train.csv", TRAIN)]);
        let zone = Pack::load(default.path()).unwrap().settings.time_zone;
        assert_eq!(zone.name(), "UTC");
        assert_eq!(zone.zone(), &jiff::tz::TimeZone::UTC);

        let named = write_pack(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("pack.toml", "time_zone = \"Europe/Berlin\"\n"),
        ]);
        let zone = Pack::load(named.path()).unwrap().settings.time_zone;
        assert_eq!(zone.name(), "Europe/Berlin");
        assert_eq!(zone.zone().iana_name(), Some("Europe/Berlin"));

        let error = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("pack.toml", "time_zone = \"Mars/Olympus_Mons\"\n"),
        ]);
        assert!(
            error.contains("pack.toml")
                && error.contains("time_zone \"Mars/Olympus_Mons\" is not an IANA time zone name"),
            "{error}"
        );
    }

    #[test]
    fn fingerprint_follows_training_data() {
        let a = write_pack(&[("intents.csv", INTENTS), ("train.csv", TRAIN)]);
        let b = write_pack(&[
            ("intents.csv", INTENTS),
            ("train.csv", &format!("{TRAIN}is it done,eta\n")),
        ]);
        let fingerprint = |dir: &tempfile::TempDir| Pack::load(dir.path()).unwrap().fingerprint();
        assert_eq!(fingerprint(&a), fingerprint(&a));
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn bad_packs_name_file_and_line() {
        let missing = load_error(&[("intents.csv", INTENTS)]);
        assert!(missing.contains("train.csv"), "{missing}");

        let unknown_tier = load_error(&[
            (
                "intents.csv",
                "intent,tier,queue,status_kind\na,direct,,x\nb,urgent,,y\n",
            ),
            ("train.csv", TRAIN),
        ]);
        assert!(unknown_tier.contains("intents.csv:3"), "{unknown_tier}");
        assert!(
            unknown_tier.contains("unknown tier \"urgent\""),
            "{unknown_tier}"
        );

        let unknown_label = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("test.csv", "text,label\nfine,eta\nhm,refund\n"),
        ]);
        assert!(unknown_label.contains("test.csv:3"), "{unknown_label}");
        assert!(unknown_label.contains("\"refund\""), "{unknown_label}");

        let only_oos_in_train = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", "text,label\nhello,oos\n"),
        ]);
        assert!(
            only_oos_in_train
                .contains("train.csv: no training example for intent(s) \"eta\", \"advice\""),
            "{only_oos_in_train}"
        );

        let empty_text = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", "text,label\n   ,eta\n"),
        ]);
        assert!(
            empty_text.contains("train.csv:2: the text is empty"),
            "{empty_text}"
        );

        let bad_header = load_error(&[("intents.csv", INTENTS), ("train.csv", "t,l\na,eta\n")]);
        assert!(
            bad_header.contains("expected the header `text,label`"),
            "{bad_header}"
        );

        let short_row = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", "text,label\nonly\n"),
        ]);
        assert!(short_row.contains("train.csv:2"), "{short_row}");

        let expert_without_queue = load_error(&[
            (
                "intents.csv",
                "intent,tier,queue,status_kind\na,direct,,x\nb,expert,,\n",
            ),
            ("train.csv", TRAIN),
        ]);
        assert!(
            expert_without_queue.contains("needs a queue"),
            "{expert_without_queue}"
        );

        let no_examples = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", "text,label\nwhen,eta\n"),
        ]);
        assert!(
            no_examples.contains("no training example for intent(s) \"advice\""),
            "{no_examples}"
        );

        let unknown_setting = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("pack.toml", "nmae = \"typo\"\n"),
        ]);
        assert!(unknown_setting.contains("pack.toml"), "{unknown_setting}");

        let unknown_floor = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("pack.toml", "[quality]\nmin_accuracy = 0.5\n"),
        ]);
        assert!(
            unknown_floor.contains("pack.toml") && unknown_floor.contains("min_accuracy"),
            "{unknown_floor}"
        );

        let floor_out_of_range = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("pack.toml", "[quality]\nmin_deflection = 85\n"),
        ]);
        assert!(
            floor_out_of_range.contains("quality.min_deflection is 85, it must lie in [0, 1]"),
            "{floor_out_of_range}"
        );

        let unlisted_queue = load_error(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            ("queues.csv", "queue,description,sla_hours\nseo,SEO,24\n"),
        ]);
        assert!(
            unlisted_queue.contains("intents.csv:3: intent \"advice\" routes to queue \"content\""),
            "{unlisted_queue}"
        );
    }

    /// Per-tier columns may follow the required ones in any subset and order; an empty cell
    /// keeps the queue's `sla_hours`, and a sender of no known client gets `sla_hours`.
    #[test]
    fn queues_take_per_tier_targets() {
        let dir = write_pack(&[
            ("intents.csv", INTENTS),
            ("train.csv", TRAIN),
            (
                "queues.csv",
                "queue,description,sla_hours,sla_hours_standard,sla_hours_platinum\n\
                 content,Writers,24,30,2.5\n\
                 seo,SEO,8,,\n",
            ),
        ]);
        let queues = Pack::load(dir.path()).unwrap().queues;
        let content = &queues[0];
        assert_eq!(content.sla_hours, 24.0);
        assert_eq!(
            content.sla_hours_by_tier,
            BTreeMap::from([(ClientTier::Platinum, 2.5), (ClientTier::Standard, 30.0)])
        );
        assert_eq!(content.sla_hours_for(Some(ClientTier::Platinum)), 2.5);
        assert_eq!(content.sla_hours_for(Some(ClientTier::Gold)), 24.0);
        assert_eq!(content.sla_hours_for(Some(ClientTier::Standard)), 30.0);
        assert_eq!(content.sla_hours_for(None), 24.0);
        assert!(queues[1].sla_hours_by_tier.is_empty());
        assert_eq!(queues[1].sla_hours_for(Some(ClientTier::Platinum)), 8.0);
    }

    /// A bad per-tier value is refused naming the file, line, column and queue, as an unknown
    /// or repeated column is naming it.
    #[test]
    fn bad_per_tier_targets_are_refused_naming_where() {
        let queues = |csv: &str| {
            load_error(&[
                ("intents.csv", INTENTS),
                ("train.csv", TRAIN),
                ("queues.csv", csv),
            ])
        };
        let header = "queue,description,sla_hours,sla_hours_gold\n";
        for (row, expected) in [
            (
                "content,W,24,soon\n",
                "sla_hours_gold \"soon\" of queue \"content\" is not a number",
            ),
            (
                "content,W,24,0\n",
                "sla_hours_gold \"0\" of queue \"content\" must be above 0",
            ),
            (
                "content,W,24,inf\n",
                "sla_hours_gold \"inf\" of queue \"content\" is not a finite",
            ),
            (
                "content,W,24,1e12\n",
                "sla_hours_gold \"1e12\" of queue \"content\" must be above 0 and at most 87600",
            ),
        ] {
            let error = queues(&format!("{header}seo,S,8,\n{row}"));
            assert!(
                error.contains("queues.csv:3: ") && error.contains(expected),
                "{error}"
            );
        }

        let unknown = queues("queue,description,sla_hours,sla_hours_bronze\ncontent,W,24,2\n");
        assert!(
            unknown.contains("queues.csv: unknown column \"sla_hours_bronze\""),
            "{unknown}"
        );
        let twice =
            queues("queue,description,sla_hours,sla_hours_gold,sla_hours_gold\ncontent,W,24,2,3\n");
        assert!(
            twice.contains("column \"sla_hours_gold\" is given twice"),
            "{twice}"
        );
        let missing = queues("queue,description,sla_hours_gold\ncontent,W,2\n");
        assert!(
            missing.contains("expected the header `queue,description,sla_hours`"),
            "{missing}"
        );
    }
}
