//! Calibration: turning logits into probabilities that mean what they say, and choosing the
//! confidence below which a human answers.
//!
//! Both are learned on a validation split held out of the training rows, never on the test set:
//! a temperature that minimizes the validation log-loss (temperature scaling), then the lowest
//! answer threshold above which every threshold keeps the pack's targets (few expert inquiries
//! answered automatically, precise automatic answers).

use serde::{Deserialize, Serialize};

/// The calibration saved with a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Logits are divided by this before the softmax.
    pub temperature: f32,
    /// A direct intent is answered automatically when the probability of its tier and status
    /// kind reaches this.
    pub answer_threshold: f32,
    /// An expert intent is routed to its queue when the probability of that queue reaches this;
    /// below it, the inquiry goes to the escalation queue.
    pub route_threshold: f32,
}

/// The softmax of `logits / temperature`, written into `out`.
pub fn softmax(logits: &[f32], temperature: f32, out: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (p, &logit) in out.iter_mut().zip(logits) {
        *p = ((logit - max) / temperature).exp();
        sum += *p;
    }
    out.iter_mut().for_each(|p| *p /= sum);
}

/// The temperature minimizing the mean negative log-likelihood of `labels` (golden-section
/// search over log T in [1/20, 20]).
pub fn fit_temperature(logits: &[Vec<f32>], labels: &[usize]) -> f32 {
    let nll = |log_t: f64| -> f64 {
        let t = log_t.exp() as f32;
        let mut probs = Vec::new();
        let total: f64 = logits
            .iter()
            .zip(labels)
            .map(|(row, &label)| {
                probs.resize(row.len(), 0.0);
                softmax(row, t, &mut probs);
                -f64::from(probs[label].max(1e-12)).ln()
            })
            .sum();
        total / labels.len().max(1) as f64
    };
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut low, mut high) = ((1.0f64 / 20.0).ln(), 20f64.ln());
    for _ in 0..60 {
        let a = high - ratio * (high - low);
        let b = low + ratio * (high - low);
        if nll(a) < nll(b) {
            high = b;
        } else {
            low = a;
        }
    }
    ((low + high) / 2.0).exp() as f32
}

/// One validation row as the threshold sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidationRow {
    /// The probability of the predicted intent's tier and status kind.
    pub confidence: f32,
    /// Whether the predicted intent is direct (so could be answered).
    pub predicted_direct: bool,
    /// Whether the true intent is expert.
    pub truly_expert: bool,
    /// Whether an automatic answer would be right (same tier and status kind as the truth).
    pub answer_correct: bool,
}

/// The lowest threshold such that it, and every higher one, keeps the share of expert rows
/// answered at most `max_expert_sent_direct` and the precision of answers at least
/// `min_precision`. Returns 1.0 (answer nothing) when no threshold does.
pub fn choose_answer_threshold(
    rows: &[ValidationRow],
    max_expert_sent_direct: f64,
    min_precision: f64,
) -> f32 {
    let experts = rows.iter().filter(|r| r.truly_expert).count().max(1) as f64;
    let mut answerable: Vec<&ValidationRow> = rows.iter().filter(|r| r.predicted_direct).collect();
    answerable.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let (mut answered, mut correct, mut experts_answered) = (0usize, 0usize, 0usize);
    let mut threshold = 1.0f32;
    let mut i = 0;
    while i < answerable.len() {
        // Admit every row at this confidence at once: a threshold cannot split ties.
        let confidence = answerable[i].confidence;
        while i < answerable.len() && answerable[i].confidence == confidence {
            answered += 1;
            correct += usize::from(answerable[i].answer_correct);
            experts_answered += usize::from(answerable[i].truly_expert);
            i += 1;
        }
        let precision = correct as f64 / answered as f64;
        let expert_share = experts_answered as f64 / experts;
        if precision < min_precision || expert_share > max_expert_sent_direct {
            break;
        }
        threshold = confidence;
    }
    threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_temperature_flattens() {
        let mut sharp = [0.0; 3];
        let mut flat = [0.0; 3];
        softmax(&[2.0, 1.0, 0.0], 1.0, &mut sharp);
        softmax(&[2.0, 1.0, 0.0], 4.0, &mut flat);
        assert!((sharp.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(flat[0] < sharp[0] && flat[2] > sharp[2]);
    }

    #[test]
    fn temperature_undoes_overconfidence() {
        // Logits three times too large: right 70 % of the time at 98 % claimed confidence.
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for i in 0..100 {
            logits.push(vec![3.0 * 2.0, 3.0 * 0.5, 0.0]);
            labels.push(if i % 10 < 7 { 0 } else { 1 });
        }
        let t = fit_temperature(&logits, &labels);
        let mut p = [0.0; 3];
        softmax(&logits[0], t, &mut p);
        assert!(t > 2.0, "t={t}");
        assert!((p[0] - 0.7).abs() < 0.05, "t={t} p={p:?}");
    }

    fn row(confidence: f32, truly_expert: bool, answer_correct: bool) -> ValidationRow {
        ValidationRow {
            confidence,
            predicted_direct: true,
            truly_expert,
            answer_correct,
        }
    }

    #[test]
    fn threshold_stops_before_the_first_violation() {
        let rows = [
            row(0.99, false, true),
            row(0.95, false, true),
            row(0.90, false, true),
            row(0.80, true, false), // one of two experts answered: 50 % > 10 %
            row(0.70, false, true),
            ValidationRow {
                predicted_direct: false,
                ..row(0.6, true, false)
            },
        ];
        assert_eq!(choose_answer_threshold(&rows, 0.10, 0.9), 0.90);
        // With a looser expert target the precision target binds: 3/4 < 0.9 stops at 0.80.
        assert_eq!(choose_answer_threshold(&rows, 0.5, 0.9), 0.90);
        assert_eq!(choose_answer_threshold(&rows, 0.5, 0.7), 0.70);
        // Nothing qualifies: answer nothing.
        assert_eq!(
            choose_answer_threshold(&[row(0.9, true, false)], 0.0, 0.9),
            1.0
        );
    }
}
