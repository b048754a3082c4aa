//! The worker's small state files kept as JSON lines (`replies.jsonl`, `ratings.jsonl`): read
//! whole at start, each line an error naming the file and line when it does not read, and
//! appended to with a synced write.

use std::io::{self, BufRead, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The lines of `path` in order, blank ones skipped; none when the file does not exist yet.
pub fn read<T: DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut read = Vec::new();
    for (number, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        read.push(serde_json::from_str(&line).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} line {}: {error}", path.display(), number + 1),
            )
        })?);
    }
    Ok(read)
}

/// Appends `lines` to `path` (made with its folder when missing) in one synced write.
pub fn append<T: Serialize>(path: &Path, lines: &[T]) -> io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = String::new();
    for line in lines {
        text.push_str(&serde_json::to_string(line).map_err(io::Error::other)?);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
