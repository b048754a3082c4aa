//! How well the expected waits of `triage::helpdesk::WaitEstimator` are kept: a seeded
//! simulation of one specialist queue, minute by minute, in three scenarios — steady Poisson
//! arrivals; a business day with a morning peak, twice as high on about one day in four, and
//! specialists working 08:00–18:00; four priorities, the most urgent served first. At each arrival every method is asked for the
//! expected wait (the estimators fed only with the resolutions before it, as in production),
//! and when the ticket is answered the estimate and the bucket told are compared with the wait
//! it had. Run with `cargo bench --bench wait_estimate`; it takes a few seconds.
//!
//! Before reporting, the estimators' own calibration summaries must agree with the tally the
//! simulation kept: a summary that miscounts cannot pass.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use triage::helpdesk::{WaitBucket, WaitEstimator, WaitScore, WaitSettings};
use triage::telemetry::Metrics;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Monday 2 March 2026, 00:00 UTC.
const START_MS: i64 = 1_772_409_600_000;
const DAYS: i64 = 90;
const QUEUE: &str = "webdev";
const SEED: u64 = 23;

/// A queue and the load on it.
struct Scenario {
    name: &'static str,
    specialists: usize,
    mean_service_minutes: f64,
    /// Arrivals per hour on the given day and in the given hour of the day (UTC).
    arrivals_per_hour: fn(i64, i64) -> f64,
    /// Whether the specialists work in the given hour of the day.
    working: fn(i64) -> bool,
    /// The share of arrivals of each priority, the most urgent (0) first.
    priority_shares: &'static [f64],
}

impl Scenario {
    /// Offered load: the work arriving per day over the work the specialists can do in a day.
    fn load(&self) -> f64 {
        let arriving = (0..DAYS)
            .flat_map(|day| (0..24).map(move |hour| (day, hour)))
            .map(|(day, hour)| (self.arrivals_per_hour)(day, hour))
            .sum::<f64>()
            / DAYS as f64;
        let working_hours = (0..24).filter(|&hour| (self.working)(hour)).count() as f64;
        arriving * self.mean_service_minutes / 60.0 / (self.specialists as f64 * working_hours)
    }
}

/// Whether `day` has a surge: about one day in four, scattered by a multiplicative hash.
fn surge(day: i64) -> bool {
    (day as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61 < 2
}

fn scenarios() -> [Scenario; 3] {
    [
        Scenario {
            name: "steady",
            specialists: 4,
            mean_service_minutes: 45.0,
            arrivals_per_hour: |_, _| 3.73,
            working: |_| true,
            priority_shares: &[1.0],
        },
        Scenario {
            name: "bursty",
            specialists: 4,
            mean_service_minutes: 45.0,
            arrivals_per_hour: |day, hour| match hour {
                8..=10 if surge(day) => 12.0,
                8..=10 => 6.0,
                11..=17 => 2.2,
                _ => 0.5,
            },
            working: |hour| (8..18).contains(&hour),
            priority_shares: &[1.0],
        },
        Scenario {
            name: "priority mix",
            specialists: 4,
            mean_service_minutes: 45.0,
            arrivals_per_hour: |_, _| 4.27,
            working: |_| true,
            priority_shares: &[0.1, 0.2, 0.3, 0.4],
        },
    ]
}

/// How an expected wait is made.
enum Method {
    /// The mean of every wait seen on the queue so far, from 10 of them.
    NaiveMean { sum_ms: i64, count: i64 },
    /// The estimator, told the backlog ahead or not.
    Estimator {
        estimator: Box<WaitEstimator>,
        backlog: bool,
    },
}

/// One method's results over a scenario.
struct Predictor {
    name: String,
    method: Method,
    withheld: u64,
    fell_back: u64,
    absolute_errors_minutes: Vec<f64>,
    told: u64,
    kept: u64,
    promised_ms: i64,
}

impl Predictor {
    fn new(name: impl Into<String>, method: Method) -> Self {
        Self {
            name: name.into(),
            method,
            withheld: 0,
            fell_back: 0,
            absolute_errors_minutes: Vec::new(),
            told: 0,
            kept: 0,
            promised_ms: 0,
        }
    }

    fn estimator(name: &str, settings: WaitSettings, backlog: bool) -> Self {
        let estimator =
            WaitEstimator::with_settings(settings, TimeZone::UTC, Arc::new(Metrics::new()));
        let estimator = Box::new(estimator);
        Self::new(name, Method::Estimator { estimator, backlog })
    }

    /// The expected wait and bucket for a ticket arriving at `now_ms`, and whether it fell back.
    fn predict(&self, ticket: &Ticket, now_ms: i64, backlog_ahead: u64) -> Option<Prediction> {
        match &self.method {
            Method::NaiveMean { sum_ms, count } => {
                let mean_ms = (*count >= 10).then(|| sum_ms / count)?;
                let bucket = WaitBucket::for_wait(now_ms, mean_ms, &TimeZone::UTC)?;
                Some(Prediction {
                    wait_ms: mean_ms,
                    bucket,
                    fell_back: false,
                })
            }
            Method::Estimator { estimator, backlog } => {
                let backlog = backlog.then_some(backlog_ahead);
                let estimate = estimator.estimate(QUEUE, ticket.priority, now_ms, 0, backlog)?;
                estimator.told(ticket.id, QUEUE, estimate.bucket);
                Some(Prediction {
                    wait_ms: estimate.wait_ms,
                    bucket: estimate.bucket,
                    fell_back: estimate.fell_back,
                })
            }
        }
    }

    fn observe(&mut self, ticket: &Ticket, answered_ms: i64) {
        match &mut self.method {
            Method::NaiveMean { sum_ms, count } => {
                *sum_ms += answered_ms - ticket.arrived_ms;
                *count += 1;
            }
            Method::Estimator { estimator, .. } => {
                estimator.observe(QUEUE, ticket.priority, ticket.arrived_ms, answered_ms);
                estimator.answered(ticket.id, answered_ms);
            }
        }
    }

    /// Scores a prediction against the wait the ticket had.
    fn score(&mut self, prediction: Option<Prediction>, ticket: &Ticket, answered_ms: i64) {
        let Some(Prediction {
            wait_ms,
            bucket,
            fell_back,
        }) = prediction
        else {
            self.withheld += 1;
            return;
        };
        let actual_ms = answered_ms - ticket.arrived_ms;
        self.absolute_errors_minutes
            .push((wait_ms - actual_ms).abs() as f64 / MINUTE_MS as f64);
        self.told += 1;
        self.kept += u64::from(answered_ms <= bucket.deadline_ms);
        self.fell_back += u64::from(fell_back);
        self.promised_ms += bucket.deadline_ms - ticket.arrived_ms;
    }

    /// Checks the estimator's own summary against this tally: tickets never answered are told
    /// and not kept in both, and overdue in the summary read at the end of time.
    fn check_calibration(&self, told_unanswered: u64) {
        let Method::Estimator { estimator, .. } = &self.method else {
            return;
        };
        let queues = estimator.calibration(i64::MAX);
        let sum = |score: fn(&WaitScore) -> u64| -> u64 {
            queues.iter().map(|queue| score(&queue.score)).sum()
        };
        assert_eq!(
            (
                sum(|s| s.told),
                sum(|s| s.answered),
                sum(|s| s.kept),
                sum(|s| s.overdue)
            ),
            (
                self.told + told_unanswered,
                self.told,
                self.kept,
                told_unanswered
            ),
            "{}: calibration summary disagrees with the simulation",
            self.name
        );
    }
}

/// An expected wait as one method told it.
#[derive(Debug, Clone, Copy)]
struct Prediction {
    wait_ms: i64,
    bucket: WaitBucket,
    fell_back: bool,
}

#[derive(Debug, Clone)]
struct Ticket {
    id: u64,
    priority: u8,
    arrived_ms: i64,
}

/// The results of one scenario: every predictor, and the tickets answered.
struct Outcome {
    predictors: Vec<Predictor>,
    answered: u64,
}

fn exponential(rng: &mut fastrand::Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.f64()).ln()
}

fn poisson(rng: &mut fastrand::Rng, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let (mut count, mut product) = (0, rng.f64());
    while product > limit {
        count += 1;
        product *= rng.f64();
    }
    count
}

fn simulate(scenario: &Scenario, mut predictors: Vec<Predictor>) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(SEED);
    // Waiting tickets by (priority, id): the claim order.
    let mut waiting: BTreeMap<(u8, u64), Ticket> = BTreeMap::new();
    let mut in_service: Vec<Option<(i64, Ticket)>> = vec![None; scenario.specialists];
    // Each waiting ticket's predictions, one per predictor (`None` where withheld).
    let mut predictions: BTreeMap<u64, Vec<Option<Prediction>>> = BTreeMap::new();
    let mut next_id = 1u64;
    let mut answered = 0u64;
    let end_ms = START_MS + DAYS * DAY_MS;
    let mut now_ms = START_MS;
    while now_ms < end_ms {
        let (day, hour) = (
            (now_ms - START_MS) / DAY_MS,
            (now_ms - START_MS) % DAY_MS / HOUR_MS,
        );
        for slot in &mut in_service {
            if slot.as_ref().is_none_or(|(done_ms, _)| *done_ms > now_ms) {
                continue;
            }
            let Some((done_ms, ticket)) = slot.take() else {
                continue;
            };
            let ticket_predictions = predictions.remove(&ticket.id).unwrap_or_default();
            for (predictor, prediction) in predictors.iter_mut().zip(ticket_predictions) {
                predictor.score(prediction, &ticket, done_ms);
                predictor.observe(&ticket, done_ms);
            }
            answered += 1;
        }
        if (scenario.working)(hour) {
            for slot in in_service.iter_mut().filter(|slot| slot.is_none()) {
                let Some((_, ticket)) = waiting.pop_first() else {
                    break;
                };
                let service_ms =
                    exponential(&mut rng, scenario.mean_service_minutes) * MINUTE_MS as f64;
                *slot = Some((now_ms + service_ms as i64, ticket));
            }
        }
        let arrivals = poisson(&mut rng, (scenario.arrivals_per_hour)(day, hour) / 60.0);
        for _ in 0..arrivals {
            let arrived_ms = now_ms + rng.i64(0..MINUTE_MS);
            let draw = rng.f64();
            let mut cumulative = 0.0;
            let priority = scenario
                .priority_shares
                .iter()
                .position(|share| {
                    cumulative += share;
                    draw < cumulative
                })
                .unwrap_or(scenario.priority_shares.len() - 1) as u8;
            let ticket = Ticket {
                id: next_id,
                priority,
                arrived_ms,
            };
            next_id += 1;
            let backlog_ahead = waiting.range(..(priority + 1, 0)).count() as u64;
            let ticket_predictions = predictors
                .iter()
                .map(|predictor| predictor.predict(&ticket, arrived_ms, backlog_ahead))
                .collect();
            predictions.insert(ticket.id, ticket_predictions);
            waiting.insert((priority, ticket.id), ticket);
        }
        now_ms += MINUTE_MS;
    }
    for (index, predictor) in predictors.iter().enumerate() {
        let told_unanswered = predictions
            .values()
            .filter(|ticket| ticket[index].is_some())
            .count() as u64;
        predictor.check_calibration(told_unanswered);
    }
    Outcome {
        predictors,
        answered,
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percent(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

fn print_table(title: &str, outcome: &mut Outcome) {
    println!("{title}");
    println!(
        "  {:<44} {:>8} {:>9} {:>8} {:>10} {:>10} {:>10}",
        "method", "withheld", "fell back", "MAE min", "median AE", "kept/told", "promise h"
    );
    for predictor in &mut outcome.predictors {
        let errors = &mut predictor.absolute_errors_minutes;
        let mean_error = errors.iter().sum::<f64>() / errors.len().max(1) as f64;
        let median_error = median(errors);
        println!(
            "  {:<44} {:>7.1}% {:>8.1}% {:>8.0} {:>10.0} {:>9.1}% {:>10.1}",
            predictor.name,
            percent(predictor.withheld, outcome.answered),
            percent(predictor.fell_back, predictor.told),
            mean_error,
            median_error,
            percent(predictor.kept, predictor.told),
            predictor.promised_ms as f64 / predictor.told.max(1) as f64 / HOUR_MS as f64,
        );
    }
    println!();
}

fn main() {
    let started = Instant::now();
    let defaults = WaitSettings::default();
    for scenario in scenarios() {
        let methods = vec![
            Predictor::new(
                "naive: mean of all waits",
                Method::NaiveMean {
                    sum_ms: 0,
                    count: 0,
                },
            ),
            Predictor::estimator("estimator, resolutions only", defaults, false),
            Predictor::estimator("estimator + backlog (Little)", defaults, true),
        ];
        let mut outcome = simulate(&scenario, methods);
        let title = format!(
            "{} — {} specialists, offered load {:.2}, {DAYS} days, {} tickets answered",
            scenario.name,
            scenario.specialists,
            scenario.load(),
            outcome.answered
        );
        print_table(&title, &mut outcome);

        let variants = [
            (2, None),
            (8, None),
            (24, None),
            (72, None),
            (8, Some(120)),
            (24, Some(60)),
            (72, Some(120)),
        ]
        .map(|(hours, width_minutes): (u64, Option<u64>)| {
            let settings = WaitSettings {
                half_life: Duration::from_secs(hours * 3600),
                time_of_day_width: width_minutes.map(|minutes| Duration::from_secs(minutes * 60)),
                ..defaults
            };
            let time_of_day = width_minutes.map_or("no time of day".to_owned(), |m| {
                format!("time of day ±{m} min")
            });
            Predictor::estimator(
                &format!("+ backlog, {hours} h, {time_of_day}"),
                settings,
                true,
            )
        });
        let quantiles = [0.7, 0.9].map(|quantile| {
            let settings = WaitSettings {
                quantile,
                ..defaults
            };
            Predictor::estimator(&format!("+ backlog, quantile {quantile}"), settings, true)
        });
        let mut outcome = simulate(&scenario, variants.into_iter().chain(quantiles).collect());
        print_table(&format!("{}: sensitivity", scenario.name), &mut outcome);
    }
    println!("simulated in {:.1} s", started.elapsed().as_secs_f64());
}
