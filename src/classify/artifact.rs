//! Model files: `models/<pack>/model.json` (the manifest: versions, the pack it belongs to, how
//! it was trained and calibrated) and `models/<pack>/weights.bin` (idf, weights and biases as
//! little-endian `f32`).
//!
//! The files hold no time stamps and no map iteration order, so the same pack and options give
//! byte-identical files. The keyword index and the example memory are rebuilt from the pack's
//! training rows at load; the manifest's pack fingerprint guarantees they are the rows the model
//! was trained with. A model of another format, or of other intents or data, is refused.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::calibrate::Calibration;
use super::classifier::target_groups;
use super::explain::ExampleMemory;
use super::scope::{ScopeModel, Vocabulary};
use super::train::{Fits, TrainOptions, Trained, ValidationSummary, classes_of};
use super::{Classifier, ClassifyError, Idf, KeywordIndex, LogisticModel, NormalizedText};
use crate::pack::{Example, Pack, hex};

/// The model file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "model.json";
const WEIGHTS: &str = "weights.bin";
const MAGIC: &[u8; 8] = b"TRIAGEW1";

/// What `model.json` says about a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub model_version: String,
    pub pack: String,
    /// The [`Pack::fingerprint`] of the data the model was trained on.
    pub pack_fingerprint: String,
    pub intents: Vec<String>,
    pub options: TrainOptions,
    pub calibration: Calibration,
    pub validation: ValidationSummary,
    /// The training rows the model was fitted on.
    pub training_rows: usize,
    /// The training rows left out because their text has no words.
    #[serde(default)]
    pub skipped_rows: usize,
    /// How the fits ended (absent in files written before it was recorded).
    #[serde(default)]
    pub fits: Option<Fits>,
    pub weights_sha256: String,
    /// The pack's language support and out-of-scope bounds; absent from older models, which
    /// then check no scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeModel>,
}

/// The version of a classifier: its pack and a digest of its weights and calibration.
pub(super) fn model_version(classifier: &Classifier) -> String {
    let mut hasher = Sha256::new();
    hasher.update(encode_weights(&classifier.idf, &classifier.model));
    hasher.update(serde_json::to_vec(&classifier.calibration).expect("serializable"));
    if let Some(scope) = &classifier.scope {
        hasher.update(serde_json::to_vec(scope).expect("serializable"));
    }
    let digest = hex(&hasher.finalize());
    format!("{}-{}", classifier.pack_name, &digest[..12])
}

fn encode_weights(idf: &Idf, model: &LogisticModel) -> Vec<u8> {
    let header = [idf.weights().len(), model.dims(), model.classes()];
    let floats = idf
        .weights()
        .iter()
        .chain(model.weights())
        .chain(model.bias());
    let mut bytes =
        Vec::with_capacity(8 + 12 + 4 * (header[0] + header[1] * header[2] + header[2]));
    bytes.extend_from_slice(MAGIC);
    for value in header {
        bytes.extend_from_slice(&(value as u32).to_le_bytes());
    }
    for value in floats {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Writes a trained classifier's files into `dir`, creating it.
pub fn save(trained: &Trained, pack: &Pack, dir: &Path) -> Result<Manifest, ClassifyError> {
    let classifier = &trained.classifier;
    let weights = encode_weights(&classifier.idf, &classifier.model);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        model_version: classifier.version.clone(),
        pack: pack.name.clone(),
        pack_fingerprint: pack.fingerprint(),
        intents: pack.intents.iter().map(|i| i.name.clone()).collect(),
        options: trained.options,
        calibration: classifier.calibration,
        validation: trained.validation.clone(),
        training_rows: trained.training_rows,
        skipped_rows: trained.skipped.len(),
        fits: Some(trained.fits),
        weights_sha256: hex(&Sha256::digest(&weights)),
        scope: classifier.scope.clone(),
    };
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ClassifyError::ModelIo { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut json = serde_json::to_string_pretty(&manifest).expect("serializable");
    json.push('\n');
    let manifest_path = dir.join(MANIFEST);
    std::fs::write(&manifest_path, json).map_err(io_error(&manifest_path))?;
    let weights_path = dir.join(WEIGHTS);
    std::fs::write(&weights_path, weights).map_err(io_error(&weights_path))?;
    Ok(manifest)
}

/// Loads the model in `dir` for `pack`, refusing one that does not belong to it.
pub fn load(pack: &Pack, dir: &Path) -> Result<Classifier, ClassifyError> {
    let refuse = |message: String| ClassifyError::Model {
        path: dir.to_path_buf(),
        message,
    };
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| ClassifyError::ModelIo { path, source })
    };
    let manifest: Manifest = {
        let bytes = read(MANIFEST)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| refuse(format!("{MANIFEST} is not valid JSON: {e}")))?;
        let format = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT_VERSION)) {
            return Err(refuse(format!(
                "model format {} is not the format {FORMAT_VERSION} this build reads; retrain with `triage train`",
                format.map_or_else(|| "(none)".to_owned(), |f| f.to_string())
            )));
        }
        serde_json::from_value(value).map_err(|e| refuse(format!("{MANIFEST}: {e}")))?
    };
    let intents: Vec<&str> = pack.intents.iter().map(|i| i.name.as_str()).collect();
    if manifest.intents != intents {
        return Err(refuse(format!(
            "the model's intents ({}) are not the pack's ({}); retrain with `triage train`",
            manifest.intents.join(", "),
            intents.join(", ")
        )));
    }
    if manifest.pack_fingerprint != pack.fingerprint() {
        return Err(refuse(
            "the model was trained on other data than the pack's intents.csv and train.csv; \
             retrain with `triage train`"
                .to_owned(),
        ));
    }
    let weights = read(WEIGHTS)?;
    if hex(&Sha256::digest(&weights)) != manifest.weights_sha256 {
        return Err(refuse(format!(
            "{WEIGHTS} does not match its digest in {MANIFEST}"
        )));
    }
    // The rows training used: those whose text has words (it reported the others).
    let rows: Vec<(&Example, NormalizedText)> = pack
        .train
        .iter()
        .map(|example| (example, NormalizedText::new(&example.text)))
        .filter(|(_, normalized)| !normalized.is_empty())
        .collect();
    let examples: Vec<&Example> = rows.iter().map(|(example, _)| *example).collect();
    let (labels, classes) = classes_of(pack, &examples);
    let (idf, model) = decode_weights(&weights, &manifest, classes).map_err(refuse)?;
    let index = KeywordIndex::build(
        classes,
        labels
            .iter()
            .copied()
            .zip(rows.iter().map(|(_, normalized)| normalized)),
        manifest.options.max_query_terms,
    )?;
    let memory = ExampleMemory::new(
        classes,
        &idf,
        labels
            .iter()
            .zip(&rows)
            .map(|(&class, (example, normalized))| (class, example.text.as_str(), normalized)),
    );
    Ok(Classifier {
        pack_name: pack.name.clone(),
        intents: pack.intents.clone(),
        group_of_intent: target_groups(pack),
        escalation_queue: pack.settings.escalation_queue.clone(),
        idf,
        index,
        model,
        calibration: manifest.calibration,
        memory,
        scope: manifest.scope,
        vocabulary: Vocabulary::new(rows.iter().map(|(_, normalized)| normalized)),
        version: manifest.model_version,
    })
}

/// Decodes `weights.bin` of a model of `classes` classes.
fn decode_weights(
    bytes: &[u8],
    manifest: &Manifest,
    classes: usize,
) -> Result<(Idf, LogisticModel), String> {
    let space = manifest.options.feature_space;
    let lexical = space.dims();
    let dims = lexical + classes + 1;
    let header: Vec<usize> = bytes
        .get(8..20)
        .filter(|_| bytes.starts_with(MAGIC))
        .ok_or_else(|| format!("{WEIGHTS} is not a triage weights file"))?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")) as usize)
        .collect();
    if header != [lexical, dims, classes] {
        return Err(format!(
            "{WEIGHTS} has the shape {header:?}, the manifest says {:?}",
            [lexical, dims, classes]
        ));
    }
    let floats: Vec<f32> = bytes[20..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    if floats.len() != lexical + dims * classes + classes || !(bytes.len() - 20).is_multiple_of(4) {
        return Err(format!("{WEIGHTS} is truncated or too long"));
    }
    let (idf, rest) = floats.split_at(lexical);
    let (weights, bias) = rest.split_at(dims * classes);
    let idf = Idf::from_weights(space, idf.to_vec()).ok_or("idf of the wrong size")?;
    let model = LogisticModel::from_parts(dims, classes, weights.to_vec(), bias.to_vec())
        .ok_or("weights of the wrong size")?;
    Ok((idf, model))
}
