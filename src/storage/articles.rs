//! Help articles, the source of truth the search index is built from.
//!
//! Every change bumps `articles_version` in the same transaction, so the index can tell
//! whether it is stale (see `retrieval::Index`).

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, claim_once, new_id, now};

/// Markup an article body is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Html,
    Text,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Text => "text",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "html" => Format::Html,
            "text" => Format::Text,
            _ => Format::Markdown,
        }
    }
}

/// A stored article.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub body: String,
    pub format: Format,
    pub url: Option<String>,
    pub locale: Option<String>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The editable fields of an article.
#[derive(Debug, Clone)]
pub struct ArticleInput {
    pub title: String,
    pub body: String,
    pub format: Format,
    pub url: Option<String>,
    pub locale: Option<String>,
    pub tags: Vec<String>,
    /// Where it came from (a file name), for the admin's reference.
    pub source: Option<String>,
}

impl ArticleInput {
    /// The article these fields make, under `id`, created and updated `at`.
    pub fn into_article(self, id: String, at: String) -> Article {
        Article {
            id,
            title: self.title,
            body: self.body,
            format: self.format,
            url: self.url,
            locale: self.locale,
            tags: self.tags,
            created_at: at.clone(),
            updated_at: at,
        }
    }
}

const COLUMNS: &str = "id, title, body, format, url, locale, tags, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Article, StoreError> {
    let format: String = row.try_get("format")?;
    let tags: String = row.try_get("tags")?;
    Ok(Article {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        format: Format::parse(&format),
        url: row.try_get("url")?,
        locale: row.try_get("locale")?,
        tags: serde_json::from_str(&tags)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

async fn bump_version(tx: &mut sqlx::AnyConnection) -> Result<i64, StoreError> {
    let version: String = sqlx::query_scalar(
        "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'articles_version' RETURNING value",
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(version.parse().unwrap_or_default())
}

/// What storing new articles did: the articles, whether each replaced the article an earlier
/// upload of a file of the same name made, and the new articles version.
#[derive(Debug)]
pub struct Stored {
    pub articles: Vec<Article>,
    pub replaced: Vec<bool>,
    pub version: i64,
}

/// Stores articles; one from a file replaces the article from the file of the same name (the
/// oldest, should there be several), keeping its id and creation time. The version is bumped
/// first, here as in every article change: its row lock queues concurrent changes (replicas on
/// PostgreSQL), so two uploads of one file cannot both find no article and insert two, and no
/// two changes take their locks in opposite orders (a deadlock).
async fn insert(
    tx: &mut sqlx::AnyConnection,
    inputs: Vec<ArticleInput>,
) -> Result<Stored, StoreError> {
    let version = bump_version(tx).await?;
    let mut articles = Vec::with_capacity(inputs.len());
    let mut replaced = Vec::with_capacity(inputs.len());
    for mut input in inputs {
        let source = input.source.take();
        let earlier = match &source {
            Some(source) => sqlx::query(
                "SELECT id, created_at FROM articles WHERE source = $1 ORDER BY created_at, id LIMIT 1",
            )
            .bind(source)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| -> Result<(String, String), StoreError> {
                Ok((row.try_get("id")?, row.try_get("created_at")?))
            })
            .transpose()?,
            None => None,
        };
        replaced.push(earlier.is_some());
        let at = now();
        let article = match earlier {
            Some((id, created_at)) => Article {
                created_at,
                ..input.into_article(id, at)
            },
            None => input.into_article(new_id("art"), at),
        };
        sqlx::query(
            "INSERT INTO articles (id, title, body, format, url, locale, tags, source, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body,
                 format = excluded.format, url = excluded.url, locale = excluded.locale,
                 tags = excluded.tags, updated_at = excluded.updated_at",
        )
        .bind(&article.id)
            .bind(&article.title)
            .bind(&article.body)
            .bind(article.format.as_str())
            .bind(&article.url)
            .bind(&article.locale)
            .bind(serde_json::to_string(&article.tags)?)
            .bind(&source)
            .bind(&article.created_at)
            .bind(&article.updated_at)
            .execute(&mut *tx)
            .await?;
        articles.push(article);
    }
    Ok(Stored {
        articles,
        replaced,
        version,
    })
}

impl Store {
    /// Stores new articles in one transaction (see [`Stored`]).
    pub async fn insert_articles(&self, inputs: Vec<ArticleInput>) -> Result<Stored, StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        let inserted = insert(&mut tx, inputs).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Stores articles unless the one-time job `key` has run before (on any replica): `None`
    /// then, and nothing is stored.
    pub async fn insert_articles_once(
        &self,
        key: &str,
        inputs: Vec<ArticleInput>,
    ) -> Result<Option<Stored>, StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        if !claim_once(&mut tx, key).await? {
            return Ok(None);
        }
        let inserted = insert(&mut tx, inputs).await?;
        tx.commit().await?;
        Ok(Some(inserted))
    }

    /// Replaces an article's fields; `None` when there is no such article.
    pub async fn update_article(
        &self,
        id: &str,
        input: ArticleInput,
    ) -> Result<Option<(Article, i64)>, StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        // The version first, as every article change takes its locks (see `insert`).
        let version = bump_version(&mut tx).await?;
        let done = sqlx::query("UPDATE articles SET title = $1, body = $2, format = $3, url = $4, locale = $5, tags = $6, updated_at = $7 WHERE id = $8")
            .bind(&input.title)
            .bind(&input.body)
            .bind(input.format.as_str())
            .bind(&input.url)
            .bind(&input.locale)
            .bind(serde_json::to_string(&input.tags)?)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM articles WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((from_row(&row)?, version)))
    }

    /// Deletes an article; the new version, or `None` when there was no such article.
    pub async fn delete_article(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let mut writer = self.writer.acquire().await?;
        let mut tx = writer.begin().await?;
        let version = bump_version(&mut tx).await?;
        let done = sqlx::query("DELETE FROM articles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(version))
    }

    /// One article by id.
    pub async fn article(&self, id: &str) -> Result<Option<Article>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM articles WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every article, oldest first. To pair them with a version, read the version first: a
    /// change committed in between is then in the articles and at worst makes the version look
    /// older than it is (one more rebuild), never newer.
    pub async fn all_articles(&self) -> Result<Vec<Article>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM articles ORDER BY created_at, id"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The current articles version.
    pub async fn articles_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta("articles_version")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or_default())
    }
}
