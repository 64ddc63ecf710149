//! ingest.rs owns writing a large commit to RocksDB as a sorted file: the commit's writes
//! go into an SST file ([`rocksdb::SstFileWriter`]) that RocksDB then takes into the store's
//! column family ([`rocksdb::DB::ingest_external_file_cf_opts`]), instead of one memtable
//! insert per write.
//!
//! Why: a memtable insert walks a skip list; when a commit's keys fall between the keys of
//! earlier commits (a windowed table's rows: key, then window), each insert pays cache
//! misses at every level it walks, about a microsecond per write on the machine this was
//! measured on (BENCHMARKS.md). An SST file is written sequentially from keys already in
//! order.
//!
//! Crash safety: the file is durable once ingested; the store's changelog position is
//! written after it, in the usual `WriteBatch`. A crash in between leaves RocksDB with the
//! commit's data but the previous position, and the next open replays the changelog from
//! there, which rewrites the same keys in offset order to the same final values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{IngestExternalFileOptions, Options, SstFileWriter};

use crate::error::{Result, StateError};
use crate::stores::Shared;

/// Commits with at least this many writes go through a file. Below it, the fixed cost of
/// a file (create, fsync, ingest) is more than the memtable inserts it saves.
pub(crate) const INGEST_MIN_WRITES: usize = 8192;

/// File names start with this, in the database directory (RocksDB's own files are
/// numbered): a file left by a crash before its ingestion is removed at the next open.
const FILE_PREFIX: &str = "brook-ingest-";

/// Numbers the files of one open database.
#[derive(Debug, Default)]
pub(crate) struct IngestFiles {
    next: AtomicU64,
}

impl IngestFiles {
    fn path(&self, dir: &Path) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        dir.join(format!("{FILE_PREFIX}{n}.sst"))
    }
}

/// Removes files of an earlier process that a crash left before their ingestion.
pub(crate) fn remove_leftovers(dir: &Path) -> Result<()> {
    let io = |e: std::io::Error| StateError::Io {
        context: "removing a leftover ingest file".to_string(),
        path: dir.to_path_buf(),
        source: e,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(FILE_PREFIX) {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}

/// Writes `writes` (`None`: delete) into store `name`'s column family `cf` through a file.
pub(crate) fn ingest(
    shared: &Shared,
    name: &str,
    cf: &impl rocksdb::AsColumnFamilyRef,
    writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<()> {
    let rocks = |operation: &str| {
        let operation = operation.to_string();
        move |source| StateError::RocksDb {
            store: name.to_string(),
            operation,
            source,
        }
    };
    let path = shared.ingest_files.path(&shared.dir);
    let options = Options::default();
    let mut file = SstFileWriter::create(&options);
    file.open(&path).map_err(rocks("create an ingest file"))?;
    let written = writes
        .iter()
        .try_for_each(|(k, v)| match v {
            Some(v) => file.put(k, v),
            None => file.delete(k),
        })
        .and_then(|_| file.finish());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(rocks("write an ingest file")(e));
    }
    let mut ingest = IngestExternalFileOptions::default();
    // Hard-links the file into the database (no copy); RocksDB removes the name it was given.
    ingest.set_move_files(true);
    let taken = shared
        .db
        .ingest_external_file_cf_opts(cf, &ingest, vec![&path]);
    if path.exists() {
        let _ = std::fs::remove_file(&path);
    }
    taken.map_err(rocks("ingest a commit file"))
}
