//! The connection writes go through: PostgreSQL's pool, or SQLite's one connection.
//!
//! SQLite takes one writer at a time, and one that finds the file locked sleeps and retries
//! (1, 2, 5, 10 ms and more), so its writes queue in order for a single connection here
//! instead. A plain lock rather than a one-connection pool: a pool pings a connection on every
//! return, a round trip to its thread that the next write in line would wait for.
//!
//! On SQLite every write is synced to the disk before it returns (`synchronous = FULL`), but
//! for the assistant's replies ([`Durability::Deferred`]): those are committed to the log
//! without waiting for the disk, and reach it with the next synced write (the next customer
//! message, under load) or about [`SYNC_DEFERRED_AFTER`] later (plus any sync already under
//! way), when a task here syncs the log, and at the latest when the service ends. A killed process loses nothing either way (the log is in the operating system's
//! hands once committed); a power cut within that window can lose a reply, never a customer's
//! message. The sync a reply saves is most of a turn's slowest stores on a disk like ours
//! (docs/PERFORMANCE.md). PostgreSQL syncs every commit.

use std::{
    ops::{Deref, DerefMut},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sqlx::{
    AnyConnection, AnyPool, AssertSqlSafe, Connection, Execute, Executor, Transaction, any::AnyRow,
    pool::PoolConnection,
};
use tokio::sync::{Mutex, MutexGuard, mpsc};

/// The longest a deferred write waits for the disk when no synced write follows it.
pub(super) const SYNC_DEFERRED_AFTER: Duration = Duration::from_millis(20);

/// When a write's commit reaches the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Durability {
    /// Before the write returns: everything a person wrote or did.
    Synced,
    /// With the next synced write, or within [`SYNC_DEFERRED_AFTER`]: the assistant's replies,
    /// which the service wrote itself.
    Deferred,
}

impl Durability {
    /// SQLite's `synchronous` setting for a commit of this durability.
    fn pragma(self) -> &'static str {
        match self {
            Durability::Synced => "PRAGMA synchronous = FULL",
            Durability::Deferred => "PRAGMA synchronous = NORMAL",
        }
    }
}

#[derive(Debug)]
pub(super) enum Writer {
    Pool(AnyPool),
    One {
        connection: Mutex<Sqlite>,
        sync: Arc<DeferredSync>,
        /// Wakes the syncing task; dropped with the writer, which ends the task.
        wake: mpsc::Sender<()>,
    },
}

/// SQLite's write connection and whether its commits are synced now.
#[derive(Debug)]
pub(super) struct Sqlite {
    connection: AnyConnection,
    /// False from just before a deferred write until a synced one has set the connection back.
    synced: bool,
}

/// What is committed but not yet synced, and the task that syncs it.
#[derive(Debug)]
pub(super) struct DeferredSync {
    /// The log file, which an `fsync` of any handle to it syncs.
    log: PathBuf,
    /// Whether a deferred write may have committed since the log was last synced.
    pending: AtomicBool,
    #[cfg(test)]
    syncs: std::sync::atomic::AtomicUsize,
}

/// A connection to write on, held until dropped.
pub(super) enum WriteConnection<'a> {
    Pooled(PoolConnection<sqlx::Any>),
    One(MutexGuard<'a, Sqlite>),
}

impl Writer {
    /// SQLite's writer on `connection` (synced), for the database whose log is `log`.
    pub(super) fn sqlite(connection: AnyConnection, log: PathBuf) -> Self {
        let (wake, mut woken) = mpsc::channel(1);
        let sync = Arc::new(DeferredSync {
            log,
            pending: AtomicBool::new(false),
            #[cfg(test)]
            syncs: Default::default(),
        });
        let task = sync.clone();
        tokio::spawn(async move {
            // Each wake-up syncs what is pending a while later; the writer's end, at once.
            while woken.recv().await.is_some() {
                tokio::time::sleep(SYNC_DEFERRED_AFTER).await;
                task.sync_pending().await;
            }
            task.sync_pending().await;
        });
        Writer::One {
            connection: Mutex::new(Sqlite {
                connection,
                synced: true,
            }),
            sync,
            wake,
        }
    }

    /// Waits for the connection (in arrival order on SQLite), set to sync its commits.
    pub(super) async fn acquire(&self) -> Result<WriteConnection<'_>, sqlx::Error> {
        Ok(match self {
            Writer::Pool(pool) => WriteConnection::Pooled(pool.acquire().await?),
            Writer::One { connection, .. } => {
                let mut sqlite = connection.lock().await;
                if !sqlite.synced {
                    sqlite
                        .connection
                        .execute(Durability::Synced.pragma())
                        .await?;
                    sqlite.synced = true;
                }
                WriteConnection::One(sqlite)
            }
        })
    }

    /// What a write's statement appends to its read of a row that a switch may change, so
    /// that it sees a switch committed while it waited: PostgreSQL checks a statement's
    /// conditions against its snapshot unless the rows are locked (`FOR UPDATE`); SQLite's one
    /// writer runs one statement at a time, so nothing can commit between its check and write.
    pub(super) fn row_lock(&self) -> &'static str {
        match self {
            Writer::Pool(_) => " FOR UPDATE",
            Writer::One { .. } => "",
        }
    }

    /// Runs one `INSERT`/`UPDATE … RETURNING` outside a transaction and returns its first row.
    /// Such a statement commits when it finishes, after its first row is out; sqlx's
    /// `fetch_one` and `fetch_optional` stop at that row and drop what follows (on SQLite the
    /// statement's reset, where a failed commit shows), so this reads it to the end.
    pub(super) async fn returning<'q>(
        &self,
        write: impl Execute<'q, sqlx::Any> + 'q,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        self.returning_as(Durability::Synced, write).await
    }

    /// As [`Writer::returning`], committed as `durability` says. On SQLite a statement that
    /// commits otherwise than the connection's last is preceded by the `synchronous` setting
    /// it commits under, in the same round trip to the connection's thread.
    pub(super) async fn returning_as<'q>(
        &self,
        durability: Durability,
        mut write: impl Execute<'q, sqlx::Any> + 'q,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let Writer::One {
            connection,
            sync,
            wake,
        } = self
        else {
            let mut connection = self.acquire().await?;
            return Ok(connection.fetch_all(write).await?.into_iter().next());
        };
        let mut sqlite = connection.lock().await;
        let deferred = durability == Durability::Deferred;
        let rows = if sqlite.synced && !deferred {
            sqlite.connection.fetch_all(write).await?
        } else {
            let arguments = write.take_arguments().map_err(sqlx::Error::Encode)?;
            let sql = format!("{}; {}", durability.pragma(), write.sql().as_str());
            sqlite.synced = false;
            // Pending from before the write: one that is given up on (its future dropped)
            // after the statement went to the connection's thread may still commit. A full
            // channel means the task is already woken.
            if deferred {
                sync.pending.store(true, Ordering::Release);
                let _ = wake.try_send(());
            }
            let rows = sqlite
                .connection
                .fetch_all((AssertSqlSafe(sql), arguments))
                .await?;
            sqlite.synced = !deferred;
            rows
        };
        let row = rows.into_iter().next();
        if deferred {
            // Again, in case the task synced while the write waited.
            sync.pending.store(true, Ordering::Release);
            let _ = wake.try_send(());
        } else if row.is_some() {
            // A synced commit syncs the whole log, the deferred commits before it included
            // (a statement that returned no row may have committed nothing).
            sync.pending.store(false, Ordering::Release);
        }
        Ok(row)
    }

    /// Syncs what deferred writes committed, now (PostgreSQL: nothing to do).
    pub(super) async fn sync_deferred(&self) {
        if let Writer::One { sync, .. } = self {
            sync.sync_pending().await;
        }
    }

    /// For tests: SQLite's `synchronous` setting on the connection now (2 synced, 1 not),
    /// whether a deferred commit awaits the task, and how often the task has synced the log.
    #[cfg(test)]
    pub(super) async fn sync_state(&self) -> (i64, bool, usize) {
        let Writer::One {
            connection, sync, ..
        } = self
        else {
            unreachable!("only SQLite defers a sync")
        };
        let mut sqlite = connection.lock().await;
        let setting = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut sqlite.connection)
            .await
            .expect("synchronous");
        (
            setting,
            sync.pending.load(Ordering::Acquire),
            sync.syncs.load(Ordering::Acquire),
        )
    }
}

impl DeferredSync {
    /// Syncs the log when a deferred write may have committed since it was last synced.
    async fn sync_pending(self: &Arc<Self>) {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let sync = self.clone();
        match tokio::task::spawn_blocking(move || sync.sync_log()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "syncing the database's log failed"),
            Err(error) => tracing::error!(%error, "syncing the database's log failed"),
        }
    }

    /// Syncs the log file's data to the disk (an `fsync` of any handle to a file syncs it).
    /// No log, nothing to sync: SQLite removes it when its last connection closes, having
    /// checked it into the database.
    fn sync_log(&self) -> std::io::Result<()> {
        let file = match std::fs::File::open(&self.log) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        file.sync_data()?;
        #[cfg(test)]
        self.syncs.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

impl WriteConnection<'_> {
    /// Starts a transaction on this connection.
    pub(super) async fn begin(&mut self) -> Result<Transaction<'_, sqlx::Any>, sqlx::Error> {
        Connection::begin(&mut **self).await
    }
}

impl Deref for WriteConnection<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConnection::Pooled(connection) => connection,
            WriteConnection::One(sqlite) => &sqlite.connection,
        }
    }
}

impl DerefMut for WriteConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConnection::Pooled(connection) => connection,
            WriteConnection::One(sqlite) => &mut sqlite.connection,
        }
    }
}
