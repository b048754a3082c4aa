//! `triage store check` and `triage store compact`: the embedded queue's file checked as the
//! server opens it, or compacted, with the server stopped.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use triage::route::{check_store, compact_store};

#[derive(Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    action: StoreAction,
}

#[derive(Subcommand)]
enum StoreAction {
    /// Check the queue's file (`route.redb`): its identity record, redb's integrity check (which
    /// repairs what it can, to the last good commit) and the schema version. Stop the server
    /// first: it holds the file while it runs.
    Check {
        /// The server's `data_dir`.
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
    },
    /// Give the space the retention sweep freed in the queue's file back to the file system:
    /// the file is checked as by `check`, then its pages in use move to its front and the rest
    /// is cut off. Stop the server first.
    Compact {
        /// The server's `data_dir`.
        #[arg(long, default_value = "var")]
        data_dir: PathBuf,
    },
}

pub fn run(args: StoreArgs) -> Result<()> {
    match args.action {
        StoreAction::Check { data_dir } => {
            let file = check_store(&data_dir)
                .with_context(|| format!("the queue in {} did not pass", data_dir.display()))?;
            let state = if file.repaired {
                "damaged, repaired to its last good commit (the latest changes may be lost)"
            } else {
                "ok"
            };
            println!("{}: {state} ({} bytes)", file.path.display(), file.bytes);
            Ok(())
        }
        StoreAction::Compact { data_dir } => {
            let compaction = compact_store(&data_dir).with_context(|| {
                format!("the queue in {} was not compacted", data_dir.display())
            })?;
            println!(
                "{}: compacted, {} bytes before, {} bytes after",
                compaction.path.display(),
                compaction.bytes_before,
                compaction.bytes_after
            );
            Ok(())
        }
    }
}
