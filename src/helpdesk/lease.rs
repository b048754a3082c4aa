//! How long a specialist holds a ticket: the lease asked for, or the default; never longer
//! than the maximum.

use std::time::Duration;

use super::HelpdeskError;

/// The default and the longest lease on a claimed ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    pub default: Duration,
    pub max: Duration,
}

impl LeasePolicy {
    /// The lease in milliseconds for a request asking for `asked` (the default when none);
    /// a zero lease or one over the maximum is refused, naming the field `lease`.
    pub fn lease_ms(&self, asked: Option<Duration>) -> Result<i64, HelpdeskError> {
        let lease = asked.unwrap_or(self.default);
        if lease.is_zero() {
            return Err(HelpdeskError::invalid(
                "lease",
                "must be a positive duration",
            ));
        }
        if lease > self.max {
            return Err(HelpdeskError::invalid(
                "lease",
                format!("is over the maximum of {:?}", self.max),
            ));
        }
        Ok(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LeasePolicy = LeasePolicy {
        default: Duration::from_secs(300),
        max: Duration::from_secs(3600),
    };

    /// No lease asked for gets the default; up to the maximum is granted as asked.
    #[test]
    fn leases_default_and_grant_up_to_the_maximum() {
        assert_eq!(POLICY.lease_ms(None).unwrap(), 300_000);
        assert_eq!(
            POLICY.lease_ms(Some(Duration::from_millis(1500))).unwrap(),
            1500
        );
        assert_eq!(
            POLICY.lease_ms(Some(Duration::from_secs(3600))).unwrap(),
            3_600_000
        );
    }

    /// A lease over the maximum, or of zero, is refused naming the field.
    #[test]
    fn leases_over_the_maximum_or_zero_are_refused() {
        let long = POLICY
            .lease_ms(Some(Duration::from_millis(3_600_001)))
            .unwrap_err();
        assert!(matches!(
            long,
            HelpdeskError::InvalidArgument { field: "lease", .. }
        ));
        assert_eq!(long.to_string(), "lease: is over the maximum of 3600s");
        let zero = POLICY.lease_ms(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(zero.to_string(), "lease: must be a positive duration");
    }
}
