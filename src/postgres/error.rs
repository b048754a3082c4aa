//! `PostgresError` and how a `tokio_postgres` error is told: the driver's own message is a bare
//! kind ("db error", "error connecting to server"), so every message here renders the cause
//! behind it: a server error's message, detail, hint and SQLSTATE code; a connection error's
//! io error. Start-up errors name where (host:port/database and schema, never a password).

use std::error::Error as _;

/// Why PostgreSQL could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The URL does not parse; `url` is shown without its password.
    #[error("postgres url {url:?} is not valid: {cause}")]
    BadUrl { url: String, cause: String },
    /// Work on a named database failed: connecting, creating the schema, migrating (at start)
    /// or inspecting it.
    #[error("postgres at {at}: {what}: {cause}")]
    At {
        at: String,
        what: String,
        cause: String,
    },
    #[error("postgres is unavailable: {0}")]
    Unavailable(String),
    #[error("postgres {what} failed: {cause}")]
    Query { what: String, cause: String },
}

impl PostgresError {
    /// A failed statement or connection, saying what was being done.
    pub(crate) fn query(what: impl Into<String>, source: tokio_postgres::Error) -> Self {
        let cause = describe(&source);
        if source.is_closed() || source.as_db_error().is_none() {
            return Self::Unavailable(format!("{}: {cause}", what.into()));
        }
        Self::Query {
            what: what.into(),
            cause,
        }
    }
}

/// Maps a failed statement to the error saying what was being done (`.map_err(failed(..))`).
pub(crate) fn failed(
    what: impl Into<String>,
) -> impl FnOnce(tokio_postgres::Error) -> PostgresError {
    move |err| PostgresError::query(what, err)
}

/// A driver error with its cause: for a server error its message (with detail and hint when
/// present) and SQLSTATE code, else the driver's words followed by each underlying error.
pub(crate) fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text += &format!("; detail: {detail}");
        }
        if let Some(hint) = db.hint() {
            text += &format!("; hint: {hint}");
        }
        return text;
    }
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// Why the pool could not hand out a connection, with the driver's cause.
pub(crate) fn describe_pool(err: &deadpool_postgres::PoolError) -> String {
    use deadpool_postgres::{PoolError, TimeoutType};
    match err {
        PoolError::Backend(err) => describe(err),
        PoolError::Timeout(TimeoutType::Wait) => "every pooled connection stayed busy".into(),
        PoolError::Timeout(TimeoutType::Create) => "connecting timed out".into(),
        PoolError::Timeout(TimeoutType::Recycle) => "checking a pooled connection timed out".into(),
        other => other.to_string(),
    }
}

/// `url` with any password replaced by `***`: in a URL the part of the user info after `:`,
/// in a `key=value` string the value of `password`.
pub(crate) fn without_password(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The last `@` ends the user info even where the password holds a `/` or an `@`
        // (a URL that does not parse may); hiding too much is safe, too little is not.
        if let Some((user_info, hosts)) = rest.rsplit_once('@')
            && let Some((user, _password)) = user_info.split_once(':')
        {
            return format!("{scheme}://{user}:***@{hosts}");
        }
        return url.to_owned();
    }
    hide_keyword_password(url)
}

/// A `key=value` connection string with the value of `password` (quoted or not) as `***`.
fn hide_keyword_password(conninfo: &str) -> String {
    let mut shown = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    while let Some(start) = rest.find("password") {
        let (before, from_key) = rest.split_at(start);
        shown += before;
        let after_key = from_key["password".len()..].trim_start();
        let starts_a_key = before.is_empty() || before.ends_with(char::is_whitespace);
        let Some(value) = after_key.strip_prefix('=').filter(|_| starts_a_key) else {
            shown += "password";
            rest = &from_key["password".len()..];
            continue;
        };
        let value = value.trim_start();
        let end = value_end(value);
        shown += "password=***";
        rest = &value[end..];
    }
    shown + rest
}

/// Where a `key=value` string's value at the start of `value` ends: at its closing quote when
/// quoted, else at the first blank; a backslash escapes the next character.
fn value_end(value: &str) -> usize {
    let quoted = value.starts_with('\'');
    let mut escaped = false;
    for (at, c) in value.char_indices().skip(usize::from(quoted)) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' if quoted => return at + 1,
            c if !quoted && c.is_whitespace() => return at,
            _ => {}
        }
    }
    value.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A password is never shown, in either form of connection string.
    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            without_password("postgres://triage:s3cret@db:5432/helpdesk?sslmode=disable"),
            "postgres://triage:***@db:5432/helpdesk?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://triage:pa/ss@word@db/helpdesk"),
            "postgres://triage:***@db/helpdesk"
        );
        assert_eq!(
            without_password("postgresql://triage@db/helpdesk"),
            "postgresql://triage@db/helpdesk"
        );
        assert_eq!(
            without_password("host=db user=triage password=s3cret dbname=helpdesk"),
            "host=db user=triage password=*** dbname=helpdesk"
        );
        assert_eq!(
            without_password("host=db password = 'two words\\' here' user=triage"),
            "host=db password=*** user=triage"
        );
    }
}
