//! Where mail comes from and where it goes: a Maildir (`new/` → `cur/` with the `:2,S` info
//! suffix) or `.eml` and mbox files named on the command line; the outbox, the quarantine and
//! the journal beside them (the [`Spool`]).
//!
//! Mail is read one at a time, when the worker has room for it ([`Incoming`]): a Maildir's
//! `new/` is listed by name and each file read when its turn comes, an mbox is read mail by
//! mail, and a mail over the size limit is not read at all. A backlog of any size is handled
//! in the memory of the worker's window.
//!
//! Files of a Maildir are moved by a hard link and the old name's removal, which (unlike
//! `rename`) never replaces a file already at the new name: a mail whose name is taken gets a
//! numbered one, so no mail's bytes are ever overwritten.
//! Files named on the command line are never moved or changed: the journal says which of their
//! mails are done, and a quarantined one is copied into the quarantine.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use mail_parser::mailbox::mbox::MessageIterator;

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
fn modified_ms(metadata: &std::fs::Metadata) -> Option<i64> {
    let modified = metadata.modified().ok()?;
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

    /// Whether the mail has a file of its own, which the quarantine can move or copy; an
    /// mbox entry has not, so its bytes are kept for the quarantine.
    pub fn has_own_file(&self) -> bool {
        !matches!(self, Self::Mbox(..))
    }
}

/// What the worker reads next.
#[derive(Debug)]
pub enum Arrival {
    Mail(RawMail),
    /// A mail over the size limit: not read, it goes to the quarantine.
    TooLarge {
        origin: Origin,
        bytes: u64,
    },
}

/// A mail still to be read.
#[derive(Debug)]
enum Listed {
    Maildir(PathBuf),
    File(PathBuf),
}

/// An mbox file being read, mail by mail.
struct OpenMbox {
    path: PathBuf,
    next_index: usize,
    messages: MessageIterator<BufReader<File>>,
}

/// The mails of one run, read one at a time as the worker takes them: the names of a
/// Maildir's `new/`, or the files named on the command line.
pub struct Incoming {
    listed: VecDeque<Listed>,
    mbox: Option<OpenMbox>,
    max_bytes: u64,
    /// How many mails there are, when that is known before reading (a Maildir).
    count: Option<u64>,
}

/// Adds the path to an I/O error's message.
fn at_path(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |error| io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Reads the mail in `file` unless it is over `max_bytes`.
fn read_capped(mut file: File, origin: Origin, max_bytes: u64) -> io::Result<Arrival> {
    let metadata = file.metadata()?;
    if metadata.len() > max_bytes {
        let bytes = metadata.len();
        return Ok(Arrival::TooLarge { origin, bytes });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // One byte over the limit tells a file that grew meanwhile.
    (&mut file).take(max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        let bytes = bytes.len() as u64;
        return Ok(Arrival::TooLarge { origin, bytes });
    }
    Ok(Arrival::Mail(RawMail {
        origin,
        bytes,
        received_ms: modified_ms(&metadata),
    }))
}

impl Incoming {
    /// The mails of `paths`: `.eml` files, and mbox files (those starting with a "From " line).
    pub fn files(paths: &[PathBuf], max_bytes: u64) -> Self {
        Self {
            listed: paths.iter().cloned().map(Listed::File).collect(),
            mbox: None,
            max_bytes,
            count: None,
        }
    }

    /// How many mails there are, when known before reading them.
    pub fn known_count(&self) -> Option<u64> {
        self.count
    }

    /// Whether every mail was read.
    pub fn is_done(&self) -> bool {
        self.listed.is_empty() && self.mbox.is_none()
    }

    /// The next mail of the open mbox, if one is open and has one more.
    fn next_of_mbox(&mut self) -> Option<io::Result<Arrival>> {
        let mbox = self.mbox.as_mut()?;
        let message = match mbox.messages.next() {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Some(Err(at_path(&mbox.path)(error))),
            None => {
                self.mbox = None;
                return None;
            }
        };
        let origin = Origin::Mbox(mbox.path.clone(), mbox.next_index);
        mbox.next_index += 1;
        let date = i64::try_from(message.internal_date())
            .ok()
            .filter(|&seconds| seconds > 0);
        let bytes = message.unwrap_contents();
        if bytes.len() as u64 > self.max_bytes {
            let bytes = bytes.len() as u64;
            return Some(Ok(Arrival::TooLarge { origin, bytes }));
        }
        Some(Ok(Arrival::Mail(RawMail {
            origin,
            received_ms: date.map(|seconds| seconds * 1000),
            bytes,
        })))
    }

    /// Opens a file named on the command line: an mbox starts being read mail by mail, an
    /// `.eml` file is read whole.
    fn open_file(&mut self, path: PathBuf) -> io::Result<Option<Arrival>> {
        let mut file = File::open(&path)?;
        let mut head = Vec::with_capacity(5);
        (&mut file).take(5).read_to_end(&mut head)?;
        file.rewind()?;
        if head == b"From " {
            self.mbox = Some(OpenMbox {
                path,
                next_index: 0,
                messages: MessageIterator::new(BufReader::new(file)),
            });
            return Ok(None);
        }
        read_capped(file, Origin::File(path), self.max_bytes).map(Some)
    }
}

impl Iterator for Incoming {
    type Item = io::Result<Arrival>;

    /// The next mail; a Maildir file gone meanwhile (another worker took it) is skipped.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(next) = self.next_of_mbox() {
                return Some(next);
            }
            let read = match self.listed.pop_front()? {
                Listed::Maildir(path) => match File::open(&path) {
                    Ok(file) => read_capped(file, Origin::Maildir(path.clone()), self.max_bytes)
                        .map(Some)
                        .map_err(at_path(&path)),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(error) => Err(at_path(&path)(error)),
                },
                Listed::File(path) => self.open_file(path.clone()).map_err(at_path(&path)),
            };
            match read {
                Ok(Some(arrival)) => return Some(Ok(arrival)),
                Ok(None) => {}
                Err(error) => return Some(Err(error)),
            }
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

    /// The mails of `new/` as they are now, to be read one at a time; each mail over
    /// `max_bytes` is not read.
    pub fn incoming(&self, max_bytes: u64) -> io::Result<Incoming> {
        let listed: VecDeque<Listed> = self.pending()?.into_iter().map(Listed::Maildir).collect();
        Ok(Incoming {
            count: Some(listed.len() as u64),
            listed,
            mbox: None,
            max_bytes,
        })
    }
}

/// Moves a handled Maildir mail from `new/` to `cur/`, adding the Seen flag (`:2,S`). A name
/// taken in `cur/` by another mail (`1.a` and `1.a:2,S` both delivered) is never replaced: the
/// mail gets the first free name of `1.a.1:2,S`, `1.a.2:2,S` …
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
    let cur = new.with_file_name("cur");
    let mut attempt = 0;
    loop {
        match move_without_replacing(path, &cur.join(candidate_name(&seen, attempt))) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => attempt += 1,
            moved => return moved,
        }
    }
}

/// The `attempt`-th name tried for a file whose own name is `name`: `name`, then `name.1`,
/// `name.2` …, the number going before a Maildir info suffix (`base.1:2,S`) so that the name
/// stays a Maildir name.
fn candidate_name(name: &str, attempt: usize) -> String {
    if attempt == 0 {
        return name.to_owned();
    }
    match name.split_once(":2,") {
        Some((base, flags)) => format!("{base}.{attempt}:2,{flags}"),
        None => format!("{name}.{attempt}"),
    }
}

/// Moves `from` to `to` unless another file is there (`AlreadyExists`): a hard link, then the
/// old name removed, since `rename` replaces what it finds. A link left by a move that a kill
/// interrupted (`to` is `from` already) is finished.
fn move_without_replacing(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => {}
        Err(error)
            if error.kind() == io::ErrorKind::AlreadyExists
                && same_file::is_same_file(from, to)? => {}
        Err(error) => return Err(error),
    }
    std::fs::remove_file(from)
}

/// Writes `bytes` into a new file at `path`; `AlreadyExists` when there is one.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)
}

/// Whether the file at `path` holds exactly `bytes` (false when there is none).
fn holds(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    match std::fs::read(path) {
        Ok(held) => Ok(held == bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
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

    /// Puts a mail into the quarantine with a `<name>.reason` file: a Maildir file is moved,
    /// a file named on the command line copied, an mbox entry written from `mbox_bytes` (when
    /// they were read). Nothing there is replaced: when the name or its `.reason` is another
    /// mail's (a mail named `x.reason` beside `x`), the first free name of `name.1`, `name.2`
    /// … is used. Done again after a restart, it finds its own files and finishes the move.
    pub fn quarantine(
        &self,
        origin: &Origin,
        mbox_bytes: Option<&[u8]>,
        reason: &str,
    ) -> io::Result<()> {
        std::fs::create_dir_all(&self.quarantine)?;
        let name = origin.quarantine_name();
        let reason = format!("{reason}\n");
        let mut attempt = 0;
        loop {
            let candidate = candidate_name(&name, attempt);
            attempt += 1;
            let target = self.quarantine.join(&candidate);
            let reason_file = self.quarantine.join(format!("{candidate}.reason"));
            let own_reason = holds(&reason_file, reason.as_bytes())?;
            let free = |path: &Path| path.try_exists().map(|exists| !exists);
            let mail_is_here = match (origin, mbox_bytes) {
                (Origin::Maildir(path), _) => {
                    target.exists() && same_file::is_same_file(path, &target)?
                }
                (Origin::File(path), _) => holds(&target, &std::fs::read(path)?)?,
                (Origin::Mbox(..), Some(bytes)) => holds(&target, bytes)?,
                (Origin::Mbox(..), None) => false,
            };
            if !(own_reason || free(&reason_file)?) || !(mail_is_here || free(&target)?) {
                continue;
            }
            if !own_reason && !created(write_new(&reason_file, reason.as_bytes()))? {
                continue;
            }
            if mail_is_here {
                return match origin {
                    Origin::Maildir(path) => move_without_replacing(path, &target),
                    Origin::File(_) | Origin::Mbox(..) => Ok(()),
                };
            }
            let placed = match (origin, mbox_bytes) {
                (Origin::Maildir(path), _) => move_without_replacing(path, &target),
                (Origin::File(path), _) => write_new(&target, &std::fs::read(path)?),
                (Origin::Mbox(..), Some(bytes)) => write_new(&target, bytes),
                (Origin::Mbox(..), None) => Ok(()),
            };
            if created(placed)? {
                return Ok(());
            }
        }
    }
}

/// Whether a file was created: false when another one took the name first.
fn created(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mails(incoming: Incoming) -> Vec<RawMail> {
        incoming
            .map(|arrival| match arrival.unwrap() {
                Arrival::Mail(mail) => mail,
                Arrival::TooLarge { origin, .. } => panic!("{origin:?} is not too large"),
            })
            .collect()
    }

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
        let incoming = maildir.incoming(1024).unwrap();
        assert_eq!(incoming.known_count(), Some(2));
        let delivered = mails(incoming);
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
        assert_eq!(maildir.incoming(1024).unwrap().known_count(), Some(0));
    }

    /// Mails are read when taken: a file gone before its turn is skipped, one over the limit
    /// is not read but reported with its size.
    #[test]
    fn maildir_files_are_read_when_taken() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::open(dir.path()).unwrap();
        let new = dir.path().join("new");
        std::fs::write(new.join("1.a"), "From: a@b\r\n\r\nx").unwrap();
        std::fs::write(new.join("2.b"), "From: a@b\r\n\r\ny").unwrap();
        std::fs::write(new.join("3.c"), vec![b'z'; 2000]).unwrap();
        let mut incoming = maildir.incoming(1000).unwrap();
        let Some(Ok(Arrival::Mail(first))) = incoming.next() else {
            panic!("the first mail is read");
        };
        assert_eq!(first.origin, Origin::Maildir(new.join("1.a")));
        std::fs::remove_file(new.join("2.b")).unwrap();
        let Some(Ok(Arrival::TooLarge { origin, bytes })) = incoming.next() else {
            panic!("the large mail is reported");
        };
        assert_eq!((origin, bytes), (Origin::Maildir(new.join("3.c")), 2000));
        assert!(incoming.next().is_none() && incoming.is_done());
    }

    /// An mbox yields each of its mails; an .eml file is one mail; the quarantine copies an
    /// mbox entry from its bytes and an .eml file from the file.
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
        let mails = mails(Incoming::files(&[mbox.clone(), eml.clone()], 1024));
        let origins: Vec<Origin> = mails.iter().map(|m| m.origin.clone()).collect();
        assert_eq!(
            origins,
            [
                Origin::Mbox(mbox.clone(), 0),
                Origin::Mbox(mbox, 1),
                Origin::File(eml.clone())
            ]
        );
        assert!(mails[0].received_ms.is_some_and(|ms| ms > 0));
        let spool = Spool::under(&dir.path().join("spool"));
        spool
            .quarantine(&mails[1].origin, Some(&mails[1].bytes), "no text")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(spool.quarantine.join("box.mbox.1.eml.reason")).unwrap(),
            "no text\n"
        );
        assert_eq!(
            std::fs::read(spool.quarantine.join("box.mbox.1.eml")).unwrap(),
            mails[1].bytes
        );
        spool.quarantine(&mails[2].origin, None, "no text").unwrap();
        assert_eq!(
            std::fs::read(spool.quarantine.join("one.eml")).unwrap(),
            std::fs::read(&eml).unwrap()
        );
        assert!(eml.exists());
    }

    /// `1.a` and `1.a:2,S` both in `new/` both reach `cur/`, the second under a numbered
    /// name: neither mail's bytes are lost; a move a kill interrupted (both names linked) is
    /// finished, not doubled.
    #[test]
    fn seen_mail_never_replaces_a_mail_in_cur() {
        let dir = tempfile::tempdir().unwrap();
        Maildir::open(dir.path()).unwrap();
        let (new, cur) = (dir.path().join("new"), dir.path().join("cur"));
        std::fs::write(new.join("1.a"), "first").unwrap();
        std::fs::write(new.join("1.a:2,S"), "second").unwrap();
        std::fs::write(new.join("2.b"), "third").unwrap();
        std::fs::hard_link(new.join("2.b"), cur.join("2.b:2,S")).unwrap();
        for name in ["1.a", "1.a:2,S", "2.b"] {
            mark_seen(&new.join(name)).unwrap();
        }
        let read = |name: &str| std::fs::read_to_string(cur.join(name)).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&cur)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["1.a.1:2,S", "1.a:2,S", "2.b:2,S"]);
        assert_eq!(
            (read("1.a:2,S"), read("1.a.1:2,S"), read("2.b:2,S")),
            ("first".to_owned(), "second".to_owned(), "third".to_owned())
        );
        assert_eq!(std::fs::read_dir(&new).unwrap().count(), 0);
    }

    /// A mail named `x.reason` never overwrites the reason of a quarantined `x`, nor `x` the
    /// mail `x.reason`; each mail and each reason is kept whole, and quarantining a mail again
    /// (after a restart) makes no second copy.
    #[test]
    fn quarantine_never_replaces_a_mail_or_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        Maildir::open(dir.path()).unwrap();
        let new = dir.path().join("new");
        let spool = Spool::under(dir.path());
        for name in ["x", "x.reason", "y.reason", "y"] {
            std::fs::write(new.join(name), format!("mail {name}")).unwrap();
            let origin = Origin::Maildir(new.join(name));
            spool
                .quarantine(&origin, None, &format!("why {name}"))
                .unwrap();
        }
        let eml = dir.path().join("x");
        std::fs::write(&eml, "mail x from a file").unwrap();
        for _ in 0..2 {
            spool
                .quarantine(&Origin::File(eml.clone()), None, "why the file")
                .unwrap();
        }
        let read = |name: &str| std::fs::read_to_string(spool.quarantine.join(name)).unwrap();
        let kept = [
            ("x", "mail x", "why x"),
            ("x.reason.1", "mail x.reason", "why x.reason"),
            ("y.reason", "mail y.reason", "why y.reason"),
            ("y.1", "mail y", "why y"),
            ("x.1", "mail x from a file", "why the file"),
        ];
        for (name, mail, reason) in kept {
            assert_eq!(read(name), mail, "{name}");
            assert_eq!(
                read(&format!("{name}.reason")),
                format!("{reason}\n"),
                "{name}"
            );
        }
        assert_eq!(std::fs::read_dir(&spool.quarantine).unwrap().count(), 10);
        assert_eq!(std::fs::read_dir(&new).unwrap().count(), 0);
    }
}
