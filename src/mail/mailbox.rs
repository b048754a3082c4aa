//! Where mail comes from and where it goes: a Maildir (`new/` → `cur/` with the `:2,S` info
//! suffix) or `.eml` and mbox files named on the command line; the outbox, the quarantine and
//! the journal beside them (the [`Spool`]).
//!
//! Files of a Maildir are moved by `rename`, so a mail is in exactly one folder at any moment.
//! Files named on the command line are never moved or changed: the journal says which of their
//! mails are done, and a quarantined one is copied into the quarantine.

use std::io;
use std::path::{Path, PathBuf};

/// One mail as read, and where it came from.
#[derive(Debug, Clone)]
pub struct RawMail {
    pub origin: Origin,
    pub bytes: Vec<u8>,
    /// When it arrived, in Unix milliseconds: its file's modification time (a Maildir
    /// delivery's), or an mbox entry's "From " line date; the SLA counts from it.
    pub received_ms: Option<i64>,
}

/// A file's modification time in Unix milliseconds, if it can be read.
fn modified_ms(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_millis()).ok()
}

/// Where a mail came from, which says what to do with it when it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file in a Maildir's `new/`: moved to `cur/` (or the quarantine) when handled.
    Maildir(PathBuf),
    /// A file named on the command line: left as it is.
    File(PathBuf),
    /// The `index`-th (from 0) mail of an mbox file: left as it is.
    Mbox(PathBuf, usize),
}

impl Origin {
    /// How the journal and the logs name the mail's source.
    pub fn describe(&self) -> String {
        match self {
            Self::Maildir(path) | Self::File(path) => path.display().to_string(),
            Self::Mbox(path, index) => format!("{}:{index}", path.display()),
        }
    }

    /// The file name a quarantined copy gets.
    fn quarantine_name(&self) -> String {
        let name = |path: &Path| {
            path.file_name().map_or_else(
                || "mail".to_owned(),
                |name| name.to_string_lossy().into_owned(),
            )
        };
        match self {
            Self::Maildir(path) | Self::File(path) => name(path),
            Self::Mbox(path, index) => format!("{}.{index}.eml", name(path)),
        }
    }
}

/// A Maildir: `new/` holds unread mail, `cur/` the handled mail.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating `new/`, `cur/` and `tmp/` when missing.
    pub fn open(root: &Path) -> io::Result<Self> {
        for folder in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(root.join(folder))?;
        }
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// The mails in `new/`, oldest name first (Maildir names start with the delivery time).
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(self.root.join("new"))? {
            let entry = entry?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.file_type()?.is_file() {
                paths.push(entry.path());
            }
        }
        paths.sort();
        Ok(paths)
    }

    /// Reads the mails of `new/`; a file gone meanwhile (another worker took it) is skipped.
    pub fn read_pending(&self) -> io::Result<Vec<RawMail>> {
        let mut mails = Vec::new();
        for path in self.pending()? {
            match std::fs::read(&path) {
                Ok(bytes) => mails.push(RawMail {
                    received_ms: modified_ms(&path),
                    origin: Origin::Maildir(path),
                    bytes,
                }),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(mails)
    }
}

/// Moves a handled Maildir mail from `new/` to `cur/`, adding the Seen flag (`:2,S`).
pub fn mark_seen(path: &Path) -> io::Result<()> {
    let (Some(name), Some(new)) = (path.file_name(), path.parent()) else {
        return Err(io::Error::other(format!(
            "{} is not a mail file",
            path.display()
        )));
    };
    let name = name.to_string_lossy();
    let seen = match name.split_once(":2,") {
        Some((base, flags)) if flags.contains('S') => format!("{base}:2,{flags}"),
        Some((base, flags)) => {
            let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
            flags.sort_unstable();
            format!("{base}:2,{}", flags.into_iter().collect::<String>())
        }
        None => format!("{name}:2,S"),
    };
    let cur = new.with_file_name("cur").join(seen);
    std::fs::rename(path, cur)
}

/// Reads `.eml` and mbox files (an mbox starts with a "From " line) into mails.
pub fn read_files(paths: &[PathBuf]) -> io::Result<Vec<RawMail>> {
    let mut mails = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })?;
        if !bytes.starts_with(b"From ") {
            mails.push(RawMail {
                origin: Origin::File(path.clone()),
                bytes,
                received_ms: modified_ms(path),
            });
            continue;
        }
        for (index, message) in
            mail_parser::mailbox::mbox::MessageIterator::new(bytes.as_slice()).enumerate()
        {
            let message = message?;
            let date = i64::try_from(message.internal_date())
                .ok()
                .filter(|&seconds| seconds > 0);
            mails.push(RawMail {
                origin: Origin::Mbox(path.clone(), index),
                received_ms: date.map(|seconds| seconds * 1000),
                bytes: message.unwrap_contents(),
            });
        }
    }
    Ok(mails)
}

/// The worker's folders: `outbox/`, `quarantine/` and `.triage/journal.jsonl` under one root
/// (the Maildir itself, or a state folder for files).
#[derive(Debug, Clone)]
pub struct Spool {
    pub outbox: PathBuf,
    pub quarantine: PathBuf,
    pub journal: PathBuf,
}

impl Spool {
    /// The spool under `root`.
    pub fn under(root: &Path) -> Self {
        Self {
            outbox: root.join("outbox"),
            quarantine: root.join("quarantine"),
            journal: root.join(".triage").join("journal.jsonl"),
        }
    }

    /// Puts `mail` into the quarantine with a `<name>.reason` file: a Maildir file is moved,
    /// any other is copied. Written again after a restart, it gives the same files.
    pub fn quarantine(&self, origin: &Origin, bytes: &[u8], reason: &str) -> io::Result<()> {
        std::fs::create_dir_all(&self.quarantine)?;
        let name = origin.quarantine_name();
        std::fs::write(
            self.quarantine.join(format!("{name}.reason")),
            format!("{reason}\n"),
        )?;
        match origin {
            Origin::Maildir(path) => std::fs::rename(path, self.quarantine.join(&name)),
            Origin::File(_) | Origin::Mbox(..) => {
                std::fs::write(self.quarantine.join(&name), bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Handled mail moves to cur/ with the Seen flag, keeping flags it had.
    #[test]
    fn seen_mail_moves_to_cur() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path()).unwrap();
        for name in ["1.a.host", "2.b.host:2,F", ".hidden"] {
            std::fs::write(dir.path().join("new").join(name), "From: a@b\r\n\r\nx").unwrap();
        }
        let pending = maildir.pending().unwrap();
        assert_eq!(pending.len(), 2);
        let delivered = maildir.read_pending().unwrap();
        assert!(
            delivered
                .iter()
                .all(|mail| mail.received_ms.is_some_and(|ms| ms > 0))
        );
        for path in &pending {
            mark_seen(path).unwrap();
        }
        let mut cur: Vec<String> = std::fs::read_dir(dir.path().join("cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        cur.sort();
        assert_eq!(cur, ["1.a.host:2,S", "2.b.host:2,FS"]);
        assert!(maildir.read_pending().unwrap().is_empty());
    }

    /// An mbox yields each of its mails; an .eml file is one mail.
    #[test]
    fn files_and_mboxes_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("box.mbox");
        std::fs::write(
            &mbox,
            "From a@b Fri Nov 20 09:00:00 2026\nFrom: a@b\n\none\n\nFrom c@d Fri Nov 20 09:01:00 2026\nFrom: c@d\n\ntwo\n",
        )
        .unwrap();
        let eml = dir.path().join("one.eml");
        std::fs::write(&eml, "From: e@f\r\n\r\nthree").unwrap();
        let mails = read_files(&[mbox.clone(), eml.clone()]).unwrap();
        let origins: Vec<Origin> = mails.iter().map(|m| m.origin.clone()).collect();
        assert_eq!(
            origins,
            [
                Origin::Mbox(mbox.clone(), 0),
                Origin::Mbox(mbox, 1),
                Origin::File(eml)
            ]
        );
        let spool = Spool::under(dir.path());
        spool
            .quarantine(&mails[1].origin, &mails[1].bytes, "no text")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(spool.quarantine.join("box.mbox.1.eml.reason")).unwrap(),
            "no text\n"
        );
    }
}
