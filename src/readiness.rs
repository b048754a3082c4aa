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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every failed check is told, in order; none failed is ready.
    #[test]
    fn all_reasons_are_kept() {
        assert_eq!(NotReady::all([Ok(()), Ok(())]), Ok(()));
        let both = NotReady::all([
            Err(NotReady::new(
                "nats at nats://a: not connected (Disconnected)",
            )),
            Ok(()),
            Err(NotReady::new("postgres at b:5432/c: not answering")),
        ]);
        assert_eq!(
            both.map_err(|not_ready| not_ready.to_string()),
            Err(
                "nats at nats://a: not connected (Disconnected); postgres at b:5432/c: not \
                 answering"
                    .to_owned()
            )
        );
    }
}
