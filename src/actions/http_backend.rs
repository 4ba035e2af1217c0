//! The HTTP backend: a business's own API, called with reqwest. Arguments are percent-encoded
//! into the URL (so quotes, slashes and `..` stay inside one path segment), secrets come from
//! the environment, and the response is mapped with JSON pointers.

use std::time::Duration;

use serde_json::{Map, Value};

use super::spec::HttpSpec;
use crate::config;

/// Why a call gave no usable answer (the turn is then handed off as `action_failed`).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("backend answered {0}")]
    Status(u16),
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("configuration: {0}")]
    Config(String),
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Fills `{name}` placeholders from the arguments (and `{customer_id}`), encoded.
pub fn fill_url(
    template: &str,
    args: &Value,
    customer_id: Option<&str>,
) -> Result<String, HttpError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| HttpError::Config(format!("unclosed placeholder in {template}")))?;
        let name = &after[..close];
        let value = match (name, &args[name]) {
            ("customer_id", _) => customer_id.map(str::to_owned),
            (_, Value::String(s)) => Some(s.clone()),
            (_, Value::Number(n)) => Some(n.to_string()),
            (_, Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
        .ok_or_else(|| HttpError::Config(format!("no value for {{{name}}}")))?;
        out.push_str(&encode(&value));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `${NAME}` in a header value with the environment variable NAME.
pub fn fill_secrets(value: &str) -> Result<String, HttpError> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| HttpError::Config("unclosed ${ in a header".into()))?;
        let name = &after[..end];
        let secret = config::env_secret(name)
            .ok_or_else(|| HttpError::Config(format!("environment variable {name} is not set")))?;
        out.push_str(secret.expose());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Calls the API. `Ok(None)`: no such record for this customer.
pub async fn run(
    client: &reqwest::Client,
    spec: &HttpSpec,
    args: &Value,
    customer_id: Option<&str>,
) -> Result<Option<Value>, HttpError> {
    let url = fill_url(&spec.url, args, customer_id)?;
    let mut request = match spec.method.as_str() {
        "POST" => {
            let mut body = args.as_object().cloned().unwrap_or_default();
            if let Some(id) = customer_id {
                body.insert("customer_id".into(), Value::String(id.to_owned()));
            }
            client.post(&url).json(&Value::Object(body))
        }
        _ => client.get(&url),
    };
    for (name, value) in &spec.headers {
        request = request.header(name, fill_secrets(value)?);
    }
    let response = request
        .timeout(Duration::from_millis(spec.timeout_ms))
        .send()
        .await?;
    let status = response.status().as_u16();
    if spec.not_found_status.contains(&status) {
        return Ok(None);
    }
    if !response.status().is_success() {
        return Err(HttpError::Status(status));
    }
    let body = limited_body(response).await?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| HttpError::Malformed(e.to_string()))?;
    if let Some(owner) = &spec.owner {
        // A record's owner as a string or a number; without one the response is not what the
        // spec describes (a failure to look into, not "no such record").
        let owned_by = super::id_text(body.pointer(owner))
            .ok_or_else(|| HttpError::Malformed(format!("{owner} (the owner) is missing")))?;
        if Some(owned_by.as_str()) != customer_id {
            return Ok(None);
        }
    }
    if spec.fields.is_empty() {
        return Ok(Some(body));
    }
    // A field the response leaves out is left out of the result: a template tests optional
    // ones with `{% if %}`, and printing a missing one fails the action.
    let mapped: Map<String, Value> = spec
        .fields
        .iter()
        .filter_map(|(name, pointer)| Some((name.clone(), body.pointer(pointer)?.clone())))
        .collect();
    Ok(Some(Value::Object(mapped)))
}

/// The most of a response read: a record, not a data dump.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The response's body, refused once it passes [`MAX_RESPONSE_BYTES`].
async fn limited_body(mut response: reqwest::Response) -> Result<Vec<u8>, HttpError> {
    let too_large = || HttpError::Malformed(format!("response over {MAX_RESPONSE_BYTES} bytes"));
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_stay_inside_their_path_segment() {
        let url = fill_url(
            "https://api.example/customers/{customer_id}/orders/{order_number}",
            &json!({"order_number": "../../admin?x=1' OR 1=1"}),
            Some("c 1"),
        )
        .expect("filled");
        assert_eq!(
            url,
            "https://api.example/customers/c%201/orders/..%2F..%2Fadmin%3Fx%3D1%27%20OR%201%3D1"
        );
    }

    #[test]
    fn a_missing_argument_is_an_error_not_an_empty_segment() {
        assert!(fill_url("https://x.example/{a}", &json!({}), None).is_err());
    }
}
