//! The connection writes go through: PostgreSQL's pool, or SQLite's one connection.
//!
//! SQLite takes one writer at a time, and one that finds the file locked sleeps and retries
//! (1, 2, 5, 10 ms and more), so its writes queue in order for a single connection here
//! instead. A plain lock rather than a one-connection pool: a pool pings a connection on every
//! return, a round trip to its thread that the next write in line would wait for.
//!
//! A write can also be left open ([`Uncommitted`]): its statement has run, so what it returned
//! is known, while the commit, on SQLite the slow part (its `fsync`), is awaited later.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
};

use sqlx::{
    AnyConnection, AnyPool, Connection, Execute, Executor, Transaction, any::AnyRow,
    pool::PoolConnection,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug)]
pub(super) enum Writer {
    Pool(AnyPool),
    One(Arc<Mutex<AnyConnection>>),
}

/// A connection to write on, held until dropped.
pub(super) enum WriteConnection {
    Pooled(PoolConnection<sqlx::Any>),
    One(OwnedMutexGuard<AnyConnection>),
}

impl Writer {
    /// Waits for the connection (in arrival order on SQLite).
    pub(super) async fn acquire(&self) -> Result<WriteConnection, sqlx::Error> {
        Ok(match self {
            Writer::Pool(pool) => WriteConnection::Pooled(pool.acquire().await?),
            Writer::One(connection) => WriteConnection::One(connection.clone().lock_owned().await),
        })
    }

    /// Runs one `INSERT … RETURNING` in a transaction left open, and returns its first row with
    /// the transaction: the connection stays held until it is committed or dropped. A
    /// statement that fails is rolled back before the error returns.
    pub(super) async fn returning_uncommitted<'q>(
        &self,
        write: impl Execute<'q, sqlx::Any> + 'q,
    ) -> Result<(Option<AnyRow>, Uncommitted), sqlx::Error> {
        let mut connection = self.acquire().await?;
        connection.execute("BEGIN").await?;
        let mut open = Uncommitted(Some(connection));
        let rows = match open.connection().fetch_all(write).await {
            Ok(rows) => rows,
            Err(error) => {
                open.rollback().await;
                return Err(error);
            }
        };
        Ok((rows.into_iter().next(), open))
    }

    /// Runs one `INSERT`/`UPDATE … RETURNING` outside a transaction and returns its first row.
    /// Such a statement commits when it finishes, after its first row is out; sqlx's
    /// `fetch_one` and `fetch_optional` stop at that row and drop what follows (on SQLite the
    /// statement's reset, where a failed commit shows), so this reads it to the end.
    pub(super) async fn returning<'q>(
        &self,
        write: impl Execute<'q, sqlx::Any> + 'q,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let mut connection = self.acquire().await?;
        Ok(connection.fetch_all(write).await?.into_iter().next())
    }
}

/// A transaction whose statements have run, still to be committed; dropped uncommitted, it
/// is rolled back.
pub(super) struct Uncommitted(Option<WriteConnection>);

impl Uncommitted {
    fn connection(&mut self) -> &mut WriteConnection {
        self.0
            .as_mut()
            .expect("an open transaction holds its connection")
    }

    /// Commits, and frees the connection. A failed commit is rolled back.
    pub(super) async fn commit(mut self) -> Result<(), sqlx::Error> {
        let result = self.connection().execute("COMMIT").await;
        match result {
            Ok(_) => {
                self.0 = None;
                Ok(())
            }
            Err(error) => {
                self.rollback().await;
                Err(error)
            }
        }
    }

    /// Rolls back, and frees the connection. A pooled connection that cannot roll back
    /// leaves the pool; SQLite's one writer stays (the next write's `BEGIN` then fails, as
    /// honestly as the file allows).
    pub(super) async fn rollback(mut self) {
        if let Some(connection) = self.0.take() {
            rollback(connection).await;
        }
    }
}

async fn rollback(mut connection: WriteConnection) {
    if let Err(error) = connection.execute("ROLLBACK").await {
        tracing::error!(%error, "rollback failed");
        if let WriteConnection::Pooled(pooled) = &mut connection {
            pooled.close_on_drop();
        }
    }
}

impl Drop for Uncommitted {
    /// An open transaction dropped (its task was cancelled) is rolled back on a task of its
    /// own, which holds the connection until then; without a runtime (the process is ending)
    /// the connection is dropped as it is.
    fn drop(&mut self) {
        if let Some(connection) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(rollback(connection));
        }
    }
}

impl WriteConnection {
    /// Starts a transaction on this connection.
    pub(super) async fn begin(&mut self) -> Result<Transaction<'_, sqlx::Any>, sqlx::Error> {
        Connection::begin(&mut **self).await
    }
}

impl Deref for WriteConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConnection::Pooled(connection) => connection,
            WriteConnection::One(connection) => connection,
        }
    }
}

impl DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConnection::Pooled(connection) => connection,
            WriteConnection::One(connection) => connection,
        }
    }
}
