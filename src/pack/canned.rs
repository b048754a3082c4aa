//! Canned replies: the optional `canned.csv` of a pack, header `queue,code,text`: the replies a
//! queue's specialists start from, each inserted by its short code (`;refund` in the console's
//! reply box). A code is letters, digits, `-` or `_`, unique within its queue; the queue is one
//! of `queues.csv`; the text is not blank.

use std::path::Path;

use super::{PackError, Queue, for_each_record};
use crate::text::quoted;

/// The name of the file in a pack.
pub const CANNED_FILE: &str = "canned.csv";

/// The longest code.
const MAX_CODE_CHARS: usize = 32;

/// One canned reply of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReply {
    pub queue: String,
    /// What a specialist types to insert it.
    pub code: String,
    pub text: String,
}

/// The canned replies of `path` for `queues`; none when the file does not exist.
pub(super) fn load_canned(path: &Path, queues: &[Queue]) -> Result<Vec<CannedReply>, PackError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut canned: Vec<CannedReply> = Vec::new();
    for_each_record(path, &["queue", "code", "text"], &[], |_, record, _| {
        let (queue, code, text) = (record[0].trim(), record[1].trim(), record[2].trim());
        if !queues.iter().any(|q| q.name == queue) {
            return Err(format!("queue {} is not in queues.csv", quoted(queue)));
        }
        let well_formed = !code.is_empty()
            && code.chars().count() <= MAX_CODE_CHARS
            && code
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !well_formed {
            return Err(format!(
                "code {} must be 1 to {MAX_CODE_CHARS} letters, digits, - or _",
                quoted(code)
            ));
        }
        if canned.iter().any(|c| c.queue == queue && c.code == code) {
            return Err(format!(
                "code {} is listed twice for queue {}",
                quoted(code),
                quoted(queue)
            ));
        }
        if text.is_empty() {
            return Err(format!("the text of code {} is blank", quoted(code)));
        }
        canned.push(CannedReply {
            queue: queue.to_owned(),
            code: code.to_owned(),
            text: text.to_owned(),
        });
        Ok(())
    })?;
    Ok(canned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<Queue> {
        vec![Queue {
            name: "seo".into(),
            description: String::new(),
            sla_hours: 24.0,
            sla_hours_by_tier: Default::default(),
        }]
    }

    fn load(csv: &str) -> Result<Vec<CannedReply>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CANNED_FILE);
        std::fs::write(&path, csv).unwrap();
        load_canned(&path, &queues()).map_err(|e| e.to_string())
    }

    /// Rows load; a bad row is named by its line.
    #[test]
    fn canned_replies_load_and_bad_rows_are_named() {
        let loaded =
            load("queue,code,text\nseo,audit,\"We will run an audit, then report.\"\n").unwrap();
        assert_eq!(loaded[0].code, "audit");
        assert_eq!(loaded[0].text, "We will run an audit, then report.");
        for (csv, expected) in [
            (
                "queue,code,text\nbilling,x,Hello\n",
                "canned.csv:2: queue \"billing\" is not in queues.csv",
            ),
            (
                "queue,code,text\nseo,a b,Hello\n",
                "canned.csv:2: code \"a b\" must be",
            ),
            (
                "queue,code,text\nseo,a,Hi\nseo,a,Hello\n",
                "canned.csv:3: code \"a\" is listed twice",
            ),
            (
                "queue,code,text\nseo,a,  \n",
                "canned.csv:2: the text of code \"a\" is blank",
            ),
        ] {
            let error = load(csv).unwrap_err();
            assert!(error.contains(expected), "{error} should say {expected}");
        }
    }
}
