//! The quality gate: whether a trained model is fit to be written, judged on the validation
//! split against the pack's floors (`[quality]` in `pack.toml`).
//!
//! A model that fails it would mostly escalate or answer wrong, and nothing else would say so:
//! `triage train` refuses to write it unless told to accept low quality, and `triage eval`
//! reports the same warnings.

use super::Calibration;
use super::train::ValidationSummary;
use crate::pack::{Pack, Tier};

/// Why a model falls short of the pack's floors, one sentence per reason; empty when it passes.
pub fn quality_warnings(
    pack: &Pack,
    validation: &ValidationSummary,
    calibration: &Calibration,
) -> Vec<String> {
    let floors = &pack.settings.quality;
    let mut warnings = Vec::new();
    if validation.rows < floors.min_validation_rows {
        warnings.push(format!(
            "only {} validation rows held out of train.csv, below the pack's floor {} \
             ([quality] min_validation_rows): too few to measure the model or to calibrate its \
             answer threshold (an intent needs 5 training rows to give any)",
            validation.rows, floors.min_validation_rows
        ));
        if validation.rows == 0 {
            return warnings;
        }
    }
    if validation.intent_accuracy < floors.min_intent_accuracy {
        warnings.push(format!(
            "validation intent accuracy {:.4} is below the pack's floor {:.4} \
             ([quality] min_intent_accuracy)",
            validation.intent_accuracy, floors.min_intent_accuracy
        ));
    }
    if !pack.intents.iter().any(|i| i.tier == Tier::Direct) {
        return warnings;
    }
    if calibration.answer_threshold >= 1.0 {
        warnings.push(format!(
            "answer threshold {:.3}: no threshold keeps the validation split within the pack's \
             targets (auto-answer precision ≥ {}, expert sent direct ≤ {}), so nothing would be \
             answered automatically",
            calibration.answer_threshold,
            pack.settings.min_auto_answer_precision,
            pack.settings.max_expert_sent_direct
        ));
    }
    let deflection = validation.deflection.unwrap_or(0.0);
    if deflection < floors.min_deflection {
        warnings.push(format!(
            "validation deflection {deflection:.4} is below the pack's floor {:.4} \
             ([quality] min_deflection)",
            floors.min_deflection
        ));
    }
    warnings
}
