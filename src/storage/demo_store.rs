//! The built-in demo store (customers, orders, invoices, payments, refunds) that the
//! built-in action backend reads. Every query is keyed by the verified customer, so no query
//! can return another customer's record.

use std::path::Path;

use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, claim_once};

/// The demo tables and, for each, the JSON fields copied into key columns.
const TABLES: &[(&str, &str, &[&str])] = &[
    ("customers.json", "store_customers", &["id", "email"]),
    (
        "orders.json",
        "store_orders",
        &["number", "customer_id", "placed_at"],
    ),
    (
        "invoices.json",
        "store_invoices",
        &["number", "order_number", "customer_id"],
    ),
    (
        "payments.json",
        "store_payments",
        &["id", "order_number", "customer_id", "created_at"],
    ),
    (
        "refunds.json",
        "store_refunds",
        &["id", "order_number", "customer_id"],
    ),
];

/// Why seeding the demo store failed: names the file.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{file}: {message}")]
    Data { file: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Loads `actions/data/*.json` into the demo tables once (first start). A missing data
    /// folder leaves the demo store empty.
    pub async fn seed_demo_store(&self, data_dir: &Path) -> Result<usize, SeedError> {
        if self.meta("demo_store_seeded").await?.is_some() || !data_dir.is_dir() {
            return Ok(0);
        }
        let mut writer = self.writer.acquire().await.map_err(StoreError::from)?;
        let mut tx = writer.begin().await.map_err(StoreError::from)?;
        if !claim_once(&mut tx, "demo_store_seeded").await? {
            // Another replica seeded it meanwhile.
            return Ok(0);
        }
        let mut rows = 0;
        for (file, table, keys) in TABLES {
            let path = data_dir.join(file);
            let bad = |message: String| SeedError::Data {
                file: path.display().to_string(),
                message,
            };
            let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
            let docs: Vec<Value> = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            let columns = keys.join(", ");
            let marks = (1..=keys.len() + 1)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO {table} ({columns}, doc) VALUES ({marks})");
            for (i, doc) in docs.iter().enumerate() {
                let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
                for key in *keys {
                    let value = doc[key]
                        .as_str()
                        .ok_or_else(|| bad(format!("record {i} has no string field {key:?}")))?;
                    query = query.bind(value.to_owned());
                }
                query
                    .bind(doc.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| bad(format!("record {i}: {e}")))?;
                rows += 1;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(rows)
    }

    /// The customer id whose email owns this order (the in-chat identity check).
    pub async fn customer_matching(
        &self,
        email: &str,
        order_number: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM store_customers c JOIN store_orders o ON o.customer_id = c.id
             WHERE lower(c.email) = lower($1) AND o.number = $2",
        )
        .bind(email)
        .bind(order_number)
        .fetch_optional(&self.reader)
        .await?)
    }

    /// The customer id for a signed identity (a customer id or an email).
    pub async fn customer_by_identity(&self, subject: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM store_customers WHERE id = $1 OR lower(email) = lower($2)",
        )
        .bind(subject)
        .bind(subject)
        .fetch_optional(&self.reader)
        .await?)
    }

    /// One of the customer's orders.
    pub async fn customer_order(
        &self,
        customer_id: &str,
        number: &str,
    ) -> Result<Option<Value>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar(
            "SELECT doc FROM store_orders WHERE customer_id = $1 AND number = $2",
        )
        .bind(customer_id)
        .bind(number)
        .fetch_optional(&self.reader)
        .await?;
        Ok(doc.map(|d| serde_json::from_str(&d)).transpose()?)
    }

    /// The customer's most recent orders, newest first.
    pub async fn customer_orders(
        &self,
        customer_id: &str,
        limit: i64,
    ) -> Result<Vec<Value>, StoreError> {
        let docs: Vec<String> = sqlx::query_scalar(
            "SELECT doc FROM store_orders WHERE customer_id = $1 ORDER BY placed_at DESC LIMIT $2",
        )
        .bind(customer_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        docs.iter()
            .map(|d| serde_json::from_str(d).map_err(StoreError::from))
            .collect()
    }

    /// The customer's records of one kind (`invoices`, `payments`, `refunds`) for an order.
    pub async fn order_records(
        &self,
        kind: OrderRecords,
        customer_id: &str,
        order_number: &str,
    ) -> Result<Vec<Value>, StoreError> {
        let sql = match kind {
            OrderRecords::Invoices => {
                "SELECT doc FROM store_invoices WHERE customer_id = $1 AND order_number = $2 ORDER BY number"
            }
            OrderRecords::Payments => {
                "SELECT doc FROM store_payments WHERE customer_id = $1 AND order_number = $2 ORDER BY created_at, id"
            }
            OrderRecords::Refunds => {
                "SELECT doc FROM store_refunds WHERE customer_id = $1 AND order_number = $2 ORDER BY id"
            }
        };
        let rows = sqlx::query(sql)
            .bind(customer_id)
            .bind(order_number)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                let doc: String = row.try_get("doc")?;
                Ok(serde_json::from_str(&doc)?)
            })
            .collect()
    }

    /// Counts a failed identity check or not-found lookup; returns the new count.
    pub async fn count_failed_lookup(&self, conversation_id: &str) -> Result<i64, StoreError> {
        let write = sqlx::query(
            "UPDATE conversations SET failed_lookups = failed_lookups + 1 WHERE id = $1 RETURNING failed_lookups",
        )
        .bind(conversation_id);
        let row = self
            .writer
            .returning(write)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(row.try_get("failed_lookups")?)
    }

    /// Failed lookups so far in a conversation.
    pub async fn failed_lookups(&self, conversation_id: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT failed_lookups FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_optional(&self.reader)
                .await?
                .unwrap_or(0),
        )
    }

    /// Counts an identity check of `identity` at `now` (unix seconds) as failed until it
    /// succeeds ([`Store::forget_failed_check`]), in a new window
    /// when the current one started before `window_start`; returns the window's count.
    pub async fn count_failed_check(
        &self,
        identity: &str,
        now: i64,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        let write = sqlx::query(
            "INSERT INTO failed_checks (identity, failures, window_start) VALUES ($1, 1, $2)
             ON CONFLICT (identity) DO UPDATE SET
                 failures = CASE WHEN failed_checks.window_start < $3
                     THEN 1 ELSE failed_checks.failures + 1 END,
                 window_start = CASE WHEN failed_checks.window_start < $3
                     THEN $2 ELSE failed_checks.window_start END
             RETURNING failures",
        )
        .bind(identity)
        .bind(now)
        .bind(window_start);
        let row = self
            .writer
            .returning(write)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(row.try_get("failures")?)
    }

    /// Forgets the failed checks of `identity` once a check of it succeeds, and those of every
    /// identity whose window started before `window_start` (they count for nothing now).
    pub async fn forget_failed_check(
        &self,
        identity: &str,
        window_start: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM failed_checks WHERE identity = $1 OR window_start < $2")
            .bind(identity)
            .bind(window_start)
            .execute(&mut *self.writer.acquire().await?)
            .await?;
        Ok(())
    }

    /// Marks a conversation as verified for a customer.
    pub async fn set_verified(
        &self,
        conversation_id: &str,
        customer_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE conversations SET verified_as = $1 WHERE id = $2")
            .bind(customer_id)
            .bind(conversation_id)
            .execute(&mut *self.writer.acquire().await?)
            .await?;
        Ok(())
    }
}

/// Kinds of per-order records.
#[derive(Debug, Clone, Copy)]
pub enum OrderRecords {
    Invoices,
    Payments,
    Refunds,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Failed checks count per window, a success forgets them, and windows that are over are
    /// pruned then, whoever they belong to.
    #[tokio::test]
    async fn failed_checks_count_per_window_and_expired_ones_are_pruned() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(None, dir.path()).await.expect("store");
        let hour = 3_600;
        let count = |identity: &'static str, now: i64| {
            let store = store.clone();
            async move {
                store
                    .count_failed_check(identity, now, now - hour)
                    .await
                    .expect("count")
            }
        };
        assert_eq!(count("ana@example.com", 0).await, 1);
        assert_eq!(count("ana@example.com", 60).await, 2);
        assert_eq!(count("bo@example.com", 120).await, 1);
        // A new window once the first is over.
        assert_eq!(count("ana@example.com", hour + 1).await, 1);
        let rows = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM failed_checks")
                .fetch_one(&store.reader)
                .await
                .expect("rows")
        };
        assert_eq!(rows().await, 2);
        // Cleo's check succeeds two hours later: hers and every expired window go.
        let now = 2 * hour + 200;
        assert_eq!(count("cleo@example.com", now).await, 1);
        store
            .forget_failed_check("cleo@example.com", now - hour)
            .await
            .expect("forget");
        assert_eq!(rows().await, 0);
    }
}
