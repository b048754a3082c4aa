//! `NotReady`: why an engine behind the service (a queue, the status data) cannot serve now,
//! in words for an operator: which engine, where, and what is wrong. The health service turns
//! it NOT_SERVING and the log says it.

/// Why an engine is not ready, naming the engine and its address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NotReady {
    reason: String,
}

impl NotReady {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// Every reason of `checks` that failed, in order, as one; ready when none did.
    pub fn all(checks: impl IntoIterator<Item = Result<(), NotReady>>) -> Result<(), NotReady> {
        let reasons: Vec<String> = checks
            .into_iter()
            .filter_map(Result::err)
            .map(|not_ready| not_ready.reason)
            .collect();
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Self::new(reasons.join("; ")))
        }
    }
}
