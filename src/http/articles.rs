//! Admin routes for the knowledge base: create (JSON or file upload), list, get, update,
//! delete, and search with the same retrieval the assistant uses.

use std::sync::Arc;

use axum::{
    Json,
    extract::{FromRequest, Multipart, Path, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    error::ApiError,
    extract::{AdminAuth, ApiJson, ApiQuery},
};
use crate::{
    app::AppState,
    retrieval,
    storage::{Article, ArticleInput, Format},
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    title: String,
    body: String,
    format: Option<Format>,
    url: Option<String>,
    locale: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

impl ArticleBody {
    fn validate(self, max_bytes: usize) -> Result<ArticleInput, ApiError> {
        if self.body.len() > max_bytes {
            return Err(ApiError::TooLarge(format!(
                "the article body is larger than {max_bytes} bytes"
            )));
        }
        Ok(retrieval::validate(ArticleInput {
            title: self.title,
            body: self.body,
            format: self.format.unwrap_or(Format::Markdown),
            url: self.url,
            locale: self.locale,
            tags: self.tags,
            source: None,
        })?)
    }
}

/// `POST /v1/articles`: JSON, or multipart with one or more files.
pub async fn create(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    request: Request,
) -> Result<Response, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let max = state.settings.limits.max_article_bytes;
    let inputs = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::invalid("invalid_multipart", e.body_text()))?;
        read_files(multipart, max).await?
    } else {
        let ApiJson(body) = ApiJson::<ArticleBody>::from_request(request, &state).await?;
        vec![body.validate(max)?]
    };
    let stored = state.store.insert_articles(inputs).await?;
    let chunks = state
        .retrieval
        .upsert(stored.articles.clone(), stored.version)
        .await?;
    let created: Vec<_> = stored
        .articles
        .iter()
        .zip(chunks)
        .zip(stored.replaced)
        .map(|((a, chunks), replaced)| {
            json!({"id": a.id, "title": a.title, "chunks": chunks, "replaced": replaced})
        })
        .collect();
    Ok((StatusCode::CREATED, Json(json!({ "articles": created }))).into_response())
}

/// Reads every file of an upload; all must be valid before any is stored.
async fn read_files(mut multipart: Multipart, max: usize) -> Result<Vec<ArticleInput>, ApiError> {
    let mut inputs = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::TooLarge("The upload is too large.".into()));
            }
            Err(e) => return Err(ApiError::invalid("invalid_multipart", e.body_text())),
        };
        let Some(name) = field.file_name().map(str::to_owned) else {
            continue;
        };
        retrieval::format_of(&name)?;
        // One file makes one article (a file uploaded again replaces its own): two of one
        // name in an upload would silently keep only the last.
        if inputs
            .iter()
            .any(|input: &ArticleInput| input.source.as_deref() == Some(name.as_str()))
        {
            return Err(ApiError::invalid(
                "duplicate_file",
                format!("two files are named {name}; each file of an upload needs its own name"),
            ));
        }
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge("The upload is too large.".into())
            } else {
                ApiError::invalid("invalid_multipart", e.body_text())
            }
        })?;
        if bytes.len() > max {
            return Err(ApiError::TooLarge(format!(
                "{name} is larger than {max} bytes"
            )));
        }
        inputs.push(retrieval::article_from_file(&name, &bytes)?);
    }
    if inputs.is_empty() {
        return Err(ApiError::invalid(
            "no_files",
            "the upload holds no file (send one or more .md, .html or .txt files)",
        ));
    }
    Ok(inputs)
}

fn summary(article: &Article) -> serde_json::Value {
    json!({
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "locale": article.locale,
        "tags": article.tags,
        "format": article.format,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
    })
}

/// `GET /v1/articles`
pub async fn list(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let articles = state.store.all_articles().await?;
    let list: Vec<_> = articles.iter().map(summary).collect();
    Ok(Json(json!({ "articles": list })))
}

/// `GET /v1/articles/{id}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AdminAuth,
) -> Result<Json<Article>, ApiError> {
    state
        .store
        .article(&id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("article"))
}

/// `PUT /v1/articles/{id}`: replaces the article's fields.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AdminAuth,
    ApiJson(body): ApiJson<ArticleBody>,
) -> Result<Json<Article>, ApiError> {
    let input = body.validate(state.settings.limits.max_article_bytes)?;
    let (article, version) = state
        .store
        .update_article(&id, input)
        .await?
        .ok_or(ApiError::NotFound("article"))?;
    state
        .retrieval
        .upsert(vec![article.clone()], version)
        .await?;
    Ok(Json(article))
}

/// `DELETE /v1/articles/{id}`
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    _: AdminAuth,
) -> Result<StatusCode, ApiError> {
    let version = state
        .store
        .delete_article(&id)
        .await?
        .ok_or(ApiError::NotFound("article"))?;
    state.retrieval.remove(id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    k: Option<usize>,
}

/// `GET /v1/search?q=...&k=5`
pub async fn search(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q = query.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::invalid("missing_query", "q must not be empty"));
    }
    let k = query.k.unwrap_or(5);
    if !(1..=50).contains(&k) {
        return Err(ApiError::invalid("invalid_k", "k must be between 1 and 50"));
    }
    let hits = state.retrieval.search(&q, k).await?;
    let results: Vec<_> = hits
        .iter()
        .map(|h| {
            json!({
                "article_id": h.article_id,
                "chunk_id": h.chunk_id,
                "title": h.title,
                "headings": h.headings,
                "url": h.url,
                "snippet": h.snippet,
                "score": h.score,
                "coverage": h.coverage,
            })
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}
