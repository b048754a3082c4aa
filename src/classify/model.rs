//! The multinomial logistic model: fitted with linfa-logistic, scored directly from its weights.
//!
//! linfa's `predict` works on dense rows and costs tens of microseconds per query; scoring from
//! the weight matrix over the non-zero features of a sparse row gives the same logits in a
//! fraction of that. The model is always multinomial, also for two intents, so the class order
//! is linfa's `classes()` (sorted intent indices) and there is no binary "positive class" to
//! get wrong.
//!
//! linfa returns whatever parameters its L-BFGS run ended on, without saying why it stopped: the
//! iteration limit, a failed line search or a stalled loss all look like success. So every fit
//! is checked by the optimization itself: the gradient of the objective at the returned
//! parameters, relative to its size at the all-zero start. A fit whose gradient has not shrunk
//! below [`FitSettings::gradient_tolerance`] is continued from where it stopped (a fresh L-BFGS
//! run warm-started from the returned weights), up to [`FitSettings::recovery_rounds`] times;
//! [`FitReport`] says how it ended, and the caller decides whether an unconverged fit is
//! acceptable. A second guard refuses a model that scores no better than the majority class on
//! its own training rows.

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use super::ClassifyError;

/// A fitted multinomial logistic model over dense feature rows.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    dims: usize,
    classes: usize,
    /// Row-major `dims × classes`: the weights of feature `j` are `weights[j*classes..][..classes]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// How to fit the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitSettings {
    /// L2 penalty on the summed log-loss (about 1/C of scikit-learn).
    pub alpha: f32,
    /// The most L-BFGS iterations of one run (round).
    pub max_iterations: u64,
    /// How many more runs, each warm-started from the last one's weights, an unconverged fit
    /// gets before it is given up.
    pub recovery_rounds: u32,
    /// The fit has converged when the gradient's norm is at most this share of its norm at the
    /// all-zero start.
    pub gradient_tolerance: f64,
}

/// How a fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitReport {
    /// Whether the gradient shrank below the tolerance.
    pub converged: bool,
    /// The L-BFGS runs made: the first plus the recovery rounds used.
    pub rounds: u32,
    /// The iteration limit of the runs made (linfa does not report how many of the last run's
    /// iterations it used, so this is an upper bound).
    pub iterations: u64,
    /// The gradient's norm at the returned weights relative to the all-zero start.
    pub gradient_ratio: f64,
}

impl LogisticModel {
    /// Rebuilds a model from saved weights and biases.
    pub fn from_parts(
        dims: usize,
        classes: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
    ) -> Option<Self> {
        (weights.len() == dims * classes && bias.len() == classes).then_some(Self {
            dims,
            classes,
            weights,
            bias,
        })
    }

    /// Fits the model on dense rows `x` with intent labels `y` in `0..classes`, every class
    /// present, and says how the fit ended. `warm_start` seeds the optimizer with an earlier
    /// model of the same shape. A run that ends unconverged is continued from its weights, up
    /// to `settings.recovery_rounds` more runs; the model is returned converged or not, so the
    /// caller decides (training refuses it, see [`FitReport`]).
    pub fn fit(
        x: &Array2<f32>,
        y: &[usize],
        classes: usize,
        settings: FitSettings,
        warm_start: Option<&LogisticModel>,
    ) -> Result<(Self, FitReport), ClassifyError> {
        let mut present = vec![false; classes];
        y.iter().for_each(|&label| present[label] = true);
        if let Some(missing) = present.iter().position(|p| !p) {
            return Err(ClassifyError::Fit(format!(
                "class {missing} has no training row"
            )));
        }
        let objective = Objective {
            x,
            y,
            alpha: settings.alpha,
        };
        let zeros = Self {
            dims: x.ncols(),
            classes,
            weights: vec![0.0; x.ncols() * classes],
            bias: vec![0.0; classes],
        };
        let start_norm = objective.gradient_norm(&zeros);
        let mut model = Self::run_lbfgs(x, y, classes, settings, warm_start)?;
        let mut report = FitReport {
            converged: false,
            rounds: 1,
            iterations: settings.max_iterations,
            gradient_ratio: f64::NAN,
        };
        loop {
            // At a zero gradient start (nothing to learn) the start is the optimum.
            report.gradient_ratio = if start_norm > 0.0 {
                objective.gradient_norm(&model) / start_norm
            } else {
                0.0
            };
            report.converged = report.gradient_ratio <= settings.gradient_tolerance;
            if report.converged || report.rounds > settings.recovery_rounds {
                break;
            }
            tracing::info!(
                rounds = report.rounds,
                iterations = report.iterations,
                gradient_ratio = report.gradient_ratio,
                "the fit has not converged; continuing from its weights"
            );
            model = Self::run_lbfgs(x, y, classes, settings, Some(&model))?;
            report.rounds += 1;
            report.iterations += settings.max_iterations;
        }
        tracing::debug!(?report, "fitted the logistic model");
        model.check_fit(x, y)?;
        Ok((model, report))
    }

    /// One L-BFGS run of linfa, from `start` or from zero.
    fn run_lbfgs(
        x: &Array2<f32>,
        y: &[usize],
        classes: usize,
        settings: FitSettings,
        start: Option<&LogisticModel>,
    ) -> Result<Self, ClassifyError> {
        let dims = x.ncols();
        let mut params = MultiLogisticRegression::default()
            .alpha(settings.alpha)
            .max_iterations(settings.max_iterations);
        if let Some(start) = start.filter(|m| m.dims == dims && m.classes == classes) {
            let mut initial = Array2::<f32>::zeros((dims + 1, classes));
            for j in 0..dims {
                for c in 0..classes {
                    initial[[j, c]] = start.weights[j * classes + c];
                }
            }
            for c in 0..classes {
                initial[[dims, c]] = start.bias[c];
            }
            params = params.initial_params(initial);
        }
        let dataset = DatasetBase::new(x.view(), Array1::from(y.to_vec()));
        let fitted = params
            .fit(&dataset)
            .map_err(|error| ClassifyError::Fit(error.to_string()))?;
        if fitted.classes() != (0..classes).collect::<Vec<_>>().as_slice() {
            return Err(ClassifyError::Fit(
                "the fitted classes are not the intents".to_owned(),
            ));
        }
        Ok(Self {
            dims,
            classes,
            weights: fitted.params().iter().copied().collect(),
            bias: fitted.intercept().to_vec(),
        })
    }

    /// Refuses a model that did not learn, converged or not: one no better than the majority
    /// class on its own training rows.
    fn check_fit(&self, x: &Array2<f32>, y: &[usize]) -> Result<(), ClassifyError> {
        if self
            .weights
            .iter()
            .chain(&self.bias)
            .any(|w| !w.is_finite())
        {
            return Err(ClassifyError::Fit("the weights are not finite".to_owned()));
        }
        let mut logits = vec![0.0; self.classes];
        let correct = x
            .rows()
            .into_iter()
            .zip(y)
            .filter(|(row, label)| {
                self.dense_logits(row.as_slice().expect("standard layout"), &mut logits);
                argmax(&logits) == **label
            })
            .count();
        let mut class_sizes = vec![0usize; self.classes];
        y.iter().for_each(|&label| class_sizes[label] += 1);
        let majority = class_sizes.iter().max().copied().unwrap_or(0);
        let accuracy = correct as f64 / y.len().max(1) as f64;
        let baseline = majority as f64 / y.len().max(1) as f64;
        if accuracy < (2.0 * baseline).min(0.5 + baseline / 2.0) {
            return Err(ClassifyError::Fit(format!(
                "the fit learned nothing: training accuracy {accuracy:.3} against a majority baseline of {baseline:.3}"
            )));
        }
        Ok(())
    }

    /// The number of feature dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The number of classes (intents).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The weights, row-major `dims × classes`.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The biases, one per class.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// The weight of feature `feature` for class `class`.
    pub fn weight(&self, feature: usize, class: usize) -> f32 {
        self.weights[feature * self.classes + class]
    }

    /// Adds the logits of the sparse row `(index, value)` to `out`, which starts from the biases.
    pub fn sparse_logits(&self, row: impl IntoIterator<Item = (usize, f32)>, out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        for (feature, value) in row {
            let weights = &self.weights[feature * self.classes..][..self.classes];
            for (logit, weight) in out.iter_mut().zip(weights) {
                *logit += value * weight;
            }
        }
    }

    /// The logits of a dense row.
    pub fn dense_logits(&self, row: &[f32], out: &mut [f32]) {
        self.sparse_logits(
            row.iter().copied().enumerate().filter(|(_, v)| *v != 0.0),
            out,
        );
    }
}

/// The objective linfa minimizes: the summed multinomial log-loss plus `alpha/2·‖W‖²` (the
/// bias is not penalized).
struct Objective<'a> {
    x: &'a Array2<f32>,
    y: &'a [usize],
    alpha: f32,
}

impl Objective<'_> {
    /// The Euclidean norm of the objective's gradient (weights and biases) at `model`.
    fn gradient_norm(&self, model: &LogisticModel) -> f64 {
        let weights = ndarray::ArrayView2::from_shape((model.dims, model.classes), &model.weights)
            .expect("weights are dims × classes");
        // Row by row: softmax(x·W + b) minus the one-hot label.
        let mut residual = self.x.dot(&weights);
        for (mut row, &label) in residual.rows_mut().into_iter().zip(self.y) {
            row += &ndarray::ArrayView1::from(&model.bias);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            row.mapv_inplace(|logit| (logit - max).exp());
            let sum = row.sum();
            row /= sum;
            row[label] -= 1.0;
        }
        let bias_gradient = residual.sum_axis(Axis(0));
        let mut weight_gradient = self.x.t().dot(&residual);
        weight_gradient.scaled_add(self.alpha, &weights);
        let squares = |values: &mut dyn Iterator<Item = &f32>| {
            values.map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()
        };
        (squares(&mut weight_gradient.iter()) + squares(&mut bias_gradient.iter())).sqrt()
    }
}

/// The index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_separable_classes_and_scores_like_linfa() {
        // Three classes, each lit by its own feature, plus a shared noisy one.
        let rows = 60;
        let mut x = Array2::<f32>::zeros((rows, 4));
        let mut y = Vec::new();
        for i in 0..rows {
            let class = i % 3;
            x[[i, class]] = 1.0;
            x[[i, 3]] = (i % 7) as f32 / 7.0;
            y.push(class);
        }
        let settings = FitSettings {
            alpha: 0.1,
            max_iterations: 100,
            recovery_rounds: 0,
            gradient_tolerance: 0.01,
        };
        let (model, report) = LogisticModel::fit(&x, &y, 3, settings, None).unwrap();
        assert!(report.converged, "{report:?}");
        let mut logits = vec![0.0; 3];
        model.dense_logits(&[0.0, 1.0, 0.0, 0.5], &mut logits);
        assert_eq!(argmax(&logits), 1);
        // A warm start from the answer converges to the same classes.
        let (again, _) = LogisticModel::fit(&x, &y, 3, settings, Some(&model)).unwrap();
        again.dense_logits(&[0.0, 0.0, 1.0, 0.5], &mut logits);
        assert_eq!(argmax(&logits), 2);
    }

    #[test]
    fn refuses_a_class_without_rows() {
        let x = Array2::<f32>::zeros((2, 2));
        let settings = FitSettings {
            alpha: 0.1,
            max_iterations: 10,
            recovery_rounds: 0,
            gradient_tolerance: 0.01,
        };
        let error = LogisticModel::fit(&x, &[0, 0], 2, settings, None).unwrap_err();
        assert!(
            error.to_string().contains("class 1 has no training row"),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_fit_that_learned_nothing() {
        // Identical rows with 4 balanced labels: nothing to learn, a quarter right at best.
        let rows = 80;
        let x = Array2::<f32>::ones((rows, 3));
        let y: Vec<usize> = (0..rows).map(|i| i % 4).collect();
        let settings = FitSettings {
            alpha: 100.0,
            max_iterations: 1,
            recovery_rounds: 0,
            gradient_tolerance: 0.01,
        };
        let error = LogisticModel::fit(&x, &y, 4, settings, None).unwrap_err();
        assert!(error.to_string().contains("learned nothing"), "{error}");
    }

    /// Overlapping classes whose optimum takes the optimizer many iterations.
    fn overlapping_classes() -> (Array2<f32>, Vec<usize>) {
        let rows = 90;
        let mut x = Array2::<f32>::zeros((rows, 6));
        let mut y = Vec::new();
        for i in 0..rows {
            let class = i % 3;
            x[[i, class]] = 1.0 + (i % 5) as f32 / 5.0;
            x[[i, (class + 1) % 3]] = (i % 4) as f32 / 4.0;
            x[[i, 3 + i % 3]] = (i % 7) as f32 / 7.0;
            y.push(class);
        }
        (x, y)
    }

    /// A run stopped by a tiny iteration limit is seen as unconverged from its gradient, and
    /// continuing from its weights converges.
    #[test]
    fn an_early_stop_is_detected_and_recovered() {
        let (x, y) = overlapping_classes();
        let stopped = FitSettings {
            alpha: 0.01,
            max_iterations: 1,
            recovery_rounds: 0,
            gradient_tolerance: 0.001,
        };
        let (_, report) = LogisticModel::fit(&x, &y, 3, stopped, None).unwrap();
        assert!(!report.converged, "{report:?}");
        assert_eq!((report.rounds, report.iterations), (1, 1));
        assert!(report.gradient_ratio > 0.001, "{report:?}");

        let recovering = FitSettings {
            recovery_rounds: 2000,
            ..stopped
        };
        let (_, report) = LogisticModel::fit(&x, &y, 3, recovering, None).unwrap();
        assert!(report.converged, "{report:?}");
        assert!(report.rounds > 1, "{report:?}");
        assert_eq!(report.iterations, u64::from(report.rounds));
        assert!(report.gradient_ratio <= 0.001, "{report:?}");
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[]), 0);
    }
}
