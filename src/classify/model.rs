//! The multinomial logistic model: fitted with linfa-logistic, scored directly from its weights.
//!
//! linfa's `predict` works on dense rows and costs tens of microseconds per query; scoring from
//! the weight matrix over the non-zero features of a sparse row gives the same logits in a
//! fraction of that. The model is always multinomial, also for two intents, so the class order
//! is linfa's `classes()` (sorted intent indices) and there is no binary "positive class" to
//! get wrong. linfa can return an unconverged model without an error, so every fit is checked
//! on its own training data before it is accepted.

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};

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
    pub max_iterations: u64,
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
    /// present. `warm_start` seeds the optimizer with an earlier model of the same shape.
    pub fn fit(
        x: &Array2<f32>,
        y: &[usize],
        classes: usize,
        settings: FitSettings,
        warm_start: Option<&LogisticModel>,
    ) -> Result<Self, ClassifyError> {
        let dims = x.ncols();
        let mut present = vec![false; classes];
        y.iter().for_each(|&label| present[label] = true);
        if let Some(missing) = present.iter().position(|p| !p) {
            return Err(ClassifyError::Fit(format!(
                "class {missing} has no training row"
            )));
        }
        let mut params = MultiLogisticRegression::default()
            .alpha(settings.alpha)
            .max_iterations(settings.max_iterations);
        if let Some(start) = warm_start.filter(|m| m.dims == dims && m.classes == classes) {
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
        let model = Self {
            dims,
            classes,
            weights: fitted.params().iter().copied().collect(),
            bias: fitted.intercept().to_vec(),
        };
        model.check_fit(x, y)?;
        Ok(model)
    }

    /// Refuses a fit that did not learn: linfa may stop early and return its starting point.
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
                "the fit did not converge: training accuracy {accuracy:.3} against a majority baseline of {baseline:.3}"
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
        };
        let model = LogisticModel::fit(&x, &y, 3, settings, None).unwrap();
        let mut logits = vec![0.0; 3];
        model.dense_logits(&[0.0, 1.0, 0.0, 0.5], &mut logits);
        assert_eq!(argmax(&logits), 1);
        // A warm start from the answer converges to the same classes.
        let again = LogisticModel::fit(&x, &y, 3, settings, Some(&model)).unwrap();
        again.dense_logits(&[0.0, 0.0, 1.0, 0.5], &mut logits);
        assert_eq!(argmax(&logits), 2);
    }

    #[test]
    fn refuses_a_class_without_rows() {
        let x = Array2::<f32>::zeros((2, 2));
        let settings = FitSettings {
            alpha: 0.1,
            max_iterations: 10,
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
        };
        let error = LogisticModel::fit(&x, &y, 4, settings, None).unwrap_err();
        assert!(error.to_string().contains("did not converge"), "{error}");
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[]), 0);
    }
}
