//! The connection writes go through: PostgreSQL's pool, or SQLite's one connection.
//!
//! SQLite takes one writer at a time, and one that finds the file locked sleeps and retries
//! (1, 2, 5, 10 ms and more), so its writes queue in order for a single connection here
//! instead. A plain lock rather than a one-connection pool: a pool pings a connection on every
//! return, a round trip to its thread that the next write in line would wait for.

use std::ops::{Deref, DerefMut};

use sqlx::{
    AnyConnection, AnyPool, Connection, Execute, Executor, Transaction, any::AnyRow,
    pool::PoolConnection,
};
use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(super) enum Writer {
    Pool(AnyPool),
    One(Mutex<AnyConnection>),
}

/// A connection to write on, held until dropped.
pub(super) enum WriteConnection<'a> {
    Pooled(PoolConnection<sqlx::Any>),
    One(MutexGuard<'a, AnyConnection>),
}

impl Writer {
    /// Waits for the connection (in arrival order on SQLite).
    pub(super) async fn acquire(&self) -> Result<WriteConnection<'_>, sqlx::Error> {
        Ok(match self {
            Writer::Pool(pool) => WriteConnection::Pooled(pool.acquire().await?),
            Writer::One(connection) => WriteConnection::One(connection.lock().await),
        })
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
            WriteConnection::One(connection) => connection,
        }
    }
}

impl DerefMut for WriteConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConnection::Pooled(connection) => connection,
            WriteConnection::One(connection) => connection,
        }
    }
}
