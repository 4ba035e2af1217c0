//! Deterministic actions: exact account facts (orders, billing, refunds) from the business's
//! data, never from the model. Specs live in `actions/*.toml`; arguments are validated before
//! any backend call; account actions run only for the verified customer; the facts the
//! customer sees are rendered by the spec's template from the backend's result.

pub mod builtin;
mod filters;
pub mod http_backend;
pub mod schema;
pub mod spec;

use std::{path::Path, sync::Arc};

use serde_json::{Value, json};

pub use spec::{BackendSpec, Intent, Spec};

use crate::{
    llm::Tool,
    phrases::{Lang, REFERENCE_EXAMPLE},
    storage::{ActionRecord, HandoffReason, Store, StoreError},
    telemetry::{Metrics, Step},
};

/// The tool the model may call to hand the conversation to a person.
pub const HANDOFF_TOOL: &str = "handoff_to_human";

/// The tools offered to the model: every action, and the handoff.
pub fn tools_for(specs: &[Spec]) -> Vec<Tool> {
    let mut tools: Vec<Tool> = specs
        .iter()
        .map(|s| Tool {
            name: s.file.name.clone(),
            description: s.file.description.clone(),
            parameters: s.parameters_json.clone(),
        })
        .collect();
    tools.push(Tool {
        name: HANDOFF_TOOL.into(),
        description: "Hand the conversation to a human support agent, when the customer asks for a person or you cannot help.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "enum": HANDOFF_REASONS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
                    "description": "customer_asked: they asked for a person; frustrated: they are upset; cannot_help: you cannot answer or do what they need."
                }
            }
        }),
    });
    tools
}

/// The reasons the model may give the handoff tool, and the handoff each is.
const HANDOFF_REASONS: &[(&str, HandoffReason)] = &[
    ("customer_asked", HandoffReason::CustomerRequest),
    ("frustrated", HandoffReason::Frustration),
    ("cannot_help", HandoffReason::LowConfidence),
];

/// The handoff a call of the handoff tool with `arguments` is: the reason it gives, else
/// that the model could not help (the service's own checks hand off a customer who asks
/// for a person before any model call, so one left to the model most often did not).
pub fn handoff_reason(arguments: &str) -> HandoffReason {
    let args: serde_json::Value = serde_json::from_str(arguments).unwrap_or_default();
    HANDOFF_REASONS
        .iter()
        .find(|(name, _)| args["reason"] == *name)
        .map_or(HandoffReason::LowConfidence, |(_, reason)| *reason)
}

/// Failed identity checks and not-found lookups allowed per conversation, and failed identity
/// checks per claimed email in [`CHECK_WINDOW_SECONDS`] across conversations (a new
/// conversation every few guesses must not reset the limit).
pub const MAX_FAILED_LOOKUPS: i64 = 5;
const CHECK_WINDOW_SECONDS: i64 = 3600;

/// What running an action came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The facts, rendered by the template, and the structured record.
    Found {
        record: ActionRecord,
        text: String,
        /// The customer this run verified the conversation as (identity checks).
        verified: Option<String>,
    },
    /// No such record for this customer ("not yours" looks the same).
    NotFound { record: ActionRecord, text: String },
    /// The conversation must be verified first.
    NeedsVerification { text: String },
    /// The arguments break the schema; no backend was called.
    Invalid { errors: Vec<String> },
    /// Too many wrong guesses in this conversation.
    RateLimited { text: String },
    /// The backend failed (timeout, 5xx, malformed answer).
    Failed { record: ActionRecord, text: String },
    /// No action has this name.
    Unknown,
}

impl Outcome {
    /// The `outcome` label of `frontdesk_action_calls_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Found { .. } => "ok",
            Outcome::NotFound { .. } => "not_found",
            Outcome::NeedsVerification { .. } => "needs_verification",
            Outcome::Invalid { .. } => "invalid",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::Failed { .. } => "failed",
            Outcome::Unknown => "unknown",
        }
    }
}

/// The `action` label for a name no action has (one label, however many names a model makes up).
const UNKNOWN_ACTION: &str = "(unknown)";

/// The loaded actions and what they need to run.
pub struct Actions {
    specs: Vec<Spec>,
    /// Built once: what every model call offers.
    tools: Vec<Tool>,
    /// The tools' descriptions and parameters as text, built once: what the model was told
    /// about them (its replies may quote their examples).
    described: String,
    templates: minijinja::Environment<'static>,
    /// The record references (order numbers) the router's actions take, found in a message
    /// by their parameters' patterns.
    references: Vec<Reference>,
    /// The first of those references' examples, for the prompts that ask for one.
    example: Option<String>,
    store: Store,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
}

impl Actions {
    /// Loads and validates `dir/*.toml`.
    pub fn load(
        dir: &Path,
        store: Store,
        http: reqwest::Client,
        metrics: Arc<Metrics>,
    ) -> Result<Self, String> {
        let specs = spec::load_dir(dir)?;
        // A secret a header names must be set now, not found missing at a customer's question.
        for spec in &specs {
            if let BackendSpec::Http(http) = &spec.file.backend {
                for (header, value) in &http.headers {
                    http_backend::fill_secrets(value).map_err(|error| {
                        format!("action {}: header {header}: {error}", spec.file.name)
                    })?;
                }
            }
        }
        let templates = templates(specs.iter().flat_map(Spec::templates))?;
        let mut references: Vec<Reference> = Vec::new();
        for spec in specs.iter().filter(|spec| spec.file.intent.is_some()) {
            if let Some(pattern) = spec.reference_pattern()
                && !references
                    .iter()
                    .any(|r| r.whole.as_str() == pattern.as_str())
            {
                references.push(Reference::new(pattern).map_err(|error| {
                    format!(
                        "action {}: the reference's pattern: {error}",
                        spec.file.name
                    )
                })?);
            }
        }
        let example = specs
            .iter()
            .filter(|spec| spec.file.intent.is_some())
            .find_map(|spec| spec.reference_example().map(str::to_owned));
        let tools = tools_for(&specs);
        let described = tools
            .iter()
            .map(|tool| format!("{} {}", tool.description, tool.parameters))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Self {
            tools,
            described,
            specs,
            templates,
            references,
            example,
            store,
            http,
            metrics,
        })
    }

    /// The tools offered to the model.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The tools' descriptions and parameters, as text.
    pub fn described(&self) -> &str {
        &self.described
    }

    /// Every loaded action.
    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }

    /// The first reference in `text` that an action's pattern takes, as written or in upper
    /// or lower case ("r-10001" for `^R-[0-9]{5}$`), outside email addresses and links.
    pub fn reference_in(&self, text: &str) -> Option<String> {
        if self.references.is_empty() {
            return None;
        }
        let text = crate::conversation::signals::without_addresses(text);
        self.references.iter().find_map(|r| r.find(&text))
    }

    /// A phrase that asks for a reference, with the actions' own example in place of
    /// [`REFERENCE_EXAMPLE`] when one is given.
    pub fn with_example(&self, phrase: &str) -> String {
        match &self.example {
            Some(example) => phrase.replace(REFERENCE_EXAMPLE, example),
            None => phrase.to_owned(),
        }
    }

    /// The action called `name`.
    pub fn spec(&self, name: &str) -> Option<&Spec> {
        self.specs.iter().find(|s| s.file.name == name)
    }

    /// The action the router uses for an intent.
    pub fn for_intent(&self, intent: Intent) -> Option<&Spec> {
        self.specs.iter().find(|s| s.file.intent == Some(intent))
    }

    /// Runs an action for a conversation, verified as `verified_as` (if at all), and counts
    /// the call by its outcome, whether or not the backend was called.
    pub async fn run(
        &self,
        name: &str,
        args: &Value,
        conversation_id: &str,
        verified_as: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, StoreError> {
        let Some(spec) = self.spec(name) else {
            self.metrics
                .action(UNKNOWN_ACTION, Outcome::Unknown.label());
            return Ok(Outcome::Unknown);
        };
        let outcome = self
            .run_spec(spec, args, conversation_id, verified_as, lang)
            .await?;
        self.metrics.action(name, outcome.label());
        Ok(outcome)
    }

    async fn run_spec(
        &self,
        spec: &Spec,
        args: &Value,
        conversation_id: &str,
        verified_as: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, StoreError> {
        let name = spec.file.name.as_str();
        let phrases = lang.phrases();
        if let Err(errors) = spec.schema.validate(args) {
            return Ok(Outcome::Invalid { errors });
        }
        if self.store.failed_lookups(conversation_id).await? >= MAX_FAILED_LOOKUPS {
            return Ok(Outcome::RateLimited {
                text: phrases.lookups_exhausted.into(),
            });
        }
        let identity = spec.claimed_identity(args);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let window_start = now - CHECK_WINDOW_SECONDS;
        // The check counts as failed until it succeeds, counted in one statement before the
        // backend is asked, so checks sent at once from many chats cannot all pass the limit.
        if let Some(identity) = &identity
            && self
                .store
                .count_failed_check(identity, now, window_start)
                .await?
                > MAX_FAILED_LOOKUPS
        {
            return Ok(Outcome::RateLimited {
                text: phrases.identity_locked.into(),
            });
        }
        if spec.file.requires_verified && verified_as.is_none() {
            return Ok(Outcome::NeedsVerification {
                text: self.with_example(phrases.needs_verification),
            });
        }
        let started = std::time::Instant::now();
        let result = match &spec.file.backend {
            BackendSpec::Builtin { query } => builtin::run(&self.store, *query, args, verified_as)
                .await
                .map_err(|e| e.to_string()),
            BackendSpec::Http(http) => http_backend::run(&self.http, http, args, verified_as)
                .await
                .map_err(|e| e.to_string()),
        };
        self.metrics.observe(Step::Actions, started.elapsed());
        let record = |ok: bool, result: Value| ActionRecord {
            name: name.to_owned(),
            ok,
            result,
        };
        match result {
            Ok(Some(result)) => {
                let verified = if spec.file.verifies_customer {
                    let Some(customer) = id_text(result.get("customer_id")) else {
                        tracing::warn!(
                            action = name,
                            "identity check answered without a customer_id"
                        );
                        return Ok(Outcome::Failed {
                            record: record(false, json!({"error": "backend_failed"})),
                            text: phrases.lookup_failed.into(),
                        });
                    };
                    Some(customer)
                } else {
                    None
                };
                if let Some(identity) = &identity {
                    self.store
                        .forget_failed_check(identity, window_start)
                        .await?;
                }
                let text = match self.render(name, lang, &result, args) {
                    Ok(text) => text,
                    Err(error) => {
                        tracing::error!(action = name, %error, "action template failed");
                        return Ok(Outcome::Failed {
                            record: record(false, json!({"error": "template_failed"})),
                            text: phrases.lookup_failed.into(),
                        });
                    }
                };
                Ok(Outcome::Found {
                    record: record(true, result),
                    text,
                    verified,
                })
            }
            Ok(None) => {
                self.store.count_failed_lookup(conversation_id).await?;
                Ok(Outcome::NotFound {
                    record: record(false, json!({"error": "not_found"})),
                    text: spec.not_found(lang).to_owned(),
                })
            }
            Err(error) => {
                tracing::warn!(action = name, %error, "action backend failed");
                Ok(Outcome::Failed {
                    record: record(false, json!({"error": "backend_failed"})),
                    text: phrases.lookup_failed.into(),
                })
            }
        }
    }

    /// The facts `result` shows, in `lang` where the action has a translation.
    fn render(
        &self,
        name: &str,
        lang: Lang,
        result: &Value,
        args: &Value,
    ) -> Result<String, minijinja::Error> {
        let template = match self
            .templates
            .get_template(&format!("{name}.{}", lang.code()))
        {
            Ok(translated) => translated,
            Err(_) => self.templates.get_template(name)?,
        };
        let text = template.render(minijinja::context! {
            result => minijinja::value::Serde(result),
            args => minijinja::value::Serde(args),
        })?;
        Ok(text.trim().to_owned())
    }
}

/// A reference parameter's pattern, and the same unanchored to find it inside a message.
struct Reference {
    whole: regex::Regex,
    inside: regex::Regex,
}

impl Reference {
    /// From the parameter's pattern as its schema compiled it.
    fn new(whole: &regex::Regex) -> Result<Self, regex::Error> {
        let pattern = whole.as_str();
        let inner = pattern.strip_prefix('^').unwrap_or(pattern);
        let inner = match inner.strip_suffix('$') {
            Some(stripped) if !stripped.ends_with('\\') => stripped,
            _ => inner,
        };
        // Not inside a longer word or number. ASCII classes and no case folding: Unicode
        // letter classes and `(?i)` made this one regex cost the service 1.7 MiB (10,000
        // streams open); case is tried by searching the text upper- and lower-cased too.
        let inside = regex::Regex::new(&format!(
            r"(?:^|[^A-Za-z0-9_])((?:{inner}))(?:$|[^A-Za-z0-9_])"
        ))?;
        Ok(Self {
            whole: whole.clone(),
            inside,
        })
    }

    /// The first reference in `text`, as written, else upper-, else lower-cased.
    fn find(&self, text: &str) -> Option<String> {
        self.find_as_written(text)
            .or_else(|| self.find_as_written(&text.to_uppercase()))
            .or_else(|| self.find_as_written(&text.to_lowercase()))
    }

    /// The first match that reads as a reference: four characters or more, a digit among
    /// them, no space (a loose pattern such as `^[0-9]+$` must not take the "2" of "2
    /// items", nor `^.+$` a whole sentence). Digits alone are a reference only as the store's
    /// bare numbers are: after a `#` or in a message about an order, and not glued to more
    /// digits ("1234567.89" is an amount, "call me at 5551234" a phone number).
    fn find_as_written(&self, text: &str) -> Option<String> {
        self.inside.captures_iter(text).find_map(|c| {
            let matched = c.get(1)?;
            let found = matched.as_str();
            if found.chars().count() < 4
                || !found.chars().any(|c| c.is_ascii_digit())
                || found.contains(char::is_whitespace)
            {
                return None;
            }
            if found.chars().all(|c| c.is_ascii_digit()) {
                let hashed = text[..matched.start()].ends_with('#');
                let mut after = text[matched.end()..].chars();
                let glued = matches!(
                    (after.next(), after.next()),
                    (Some('.' | ',' | '-' | '/'), Some('0'..='9'))
                );
                if glued || !(hashed || crate::conversation::intent::has_order_wording(text)) {
                    return None;
                }
            }
            self.whole.is_match(found).then(|| found.to_owned())
        })
    }
}

/// An id in a backend's answer as text, whether written as a string or a number.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The actions' templates (name, source), as they render facts.
fn templates(
    sources: impl Iterator<Item = (String, String)>,
) -> Result<minijinja::Environment<'static>, String> {
    let mut templates = minijinja::Environment::new();
    // A field the template prints but the result lacks is a failed action (an honest
    // message and a handoff), not a blank in the facts; `{% if %}` may still test it.
    templates.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    templates.add_filter("money", filters::money);
    templates.add_filter("date", filters::date);
    templates.add_filter("method", filters::method);
    templates.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| format!("template syntax: {e}"))?,
    );
    for (name, source) in sources {
        templates
            .add_template_owned(name.clone(), source)
            .map_err(|e| format!("{name}: template: {e}"))?;
    }
    Ok(templates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_field_the_result_lacks_fails_the_render() {
        let source = "Order {{ result.number }}: {{ result.status }}\n{% if result.eta %}ETA {{ result.eta }}{% endif %}";
        let env = templates([("t".to_owned(), source.to_owned())].into_iter()).expect("loads");
        let render = |result: Value| {
            env.get_template("t")
                .expect("template")
                .render(minijinja::context! { result => minijinja::value::Serde(result) })
        };
        let full = render(json!({"number": "NW-1", "status": "shipped", "eta": "2026-12-01"}));
        assert_eq!(
            full.expect("renders"),
            "Order NW-1: shipped\nETA 2026-12-01"
        );
        // An optional field may be missing; a printed one may not.
        assert!(render(json!({"number": "NW-1", "status": "shipped"})).is_ok());
        assert!(render(json!({"number": "NW-1"})).is_err());
    }

    fn reference(pattern: &str) -> Result<Reference, regex::Error> {
        Reference::new(&regex::Regex::new(pattern)?)
    }

    #[test]
    fn a_reference_is_found_by_its_pattern_as_a_whole_word() {
        let rental = reference("^R-[0-9]{5}$").expect("compiles");
        assert_eq!(
            rental.find("where is my rental r-10001?").as_deref(),
            Some("R-10001")
        );
        assert_eq!(rental.find("(R-10001)").as_deref(), Some("R-10001"));
        assert_eq!(rental.find("R-100012"), None, "a longer number");
        assert_eq!(rental.find("XR-10001"), None, "inside a word");
        let loose = reference("^[0-9]+$").expect("compiles");
        assert_eq!(loose.find("I ordered 2 items"), None);
        assert_eq!(loose.find("order 12345 please").as_deref(), Some("12345"));
        // Digits alone, as the store's bare numbers: not a phone number, an amount or a
        // postcode in a question about something else.
        let seven = reference("^[0-9]{7}$").expect("compiles");
        assert_eq!(seven.find("call me at 5551234 tomorrow"), None);
        assert_eq!(seven.find("my order cost 1234567.89"), None);
        assert_eq!(
            reference("^[0-9]{5}$")
                .expect("compiles")
                .find("Do you ship to 75001?"),
            None
        );
        assert_eq!(seven.find("where is #1234567").as_deref(), Some("1234567"));
        let anything = reference("^.+$").expect("compiles");
        assert_eq!(anything.find("where is my order?"), None);
        let store = reference("^NW-[0-9]{7}$").expect("compiles");
        assert_eq!(
            store.find("NW-1046247, I'm ana@example.com").as_deref(),
            Some("NW-1046247")
        );
    }

    /// Each demo order, in each language the demo actions are translated to, renders with
    /// its status in that language (a status the translation lacks would show in English).
    #[test]
    fn the_demo_orders_render_in_every_translation() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let specs = spec::load_dir(&root.join("actions")).expect("the demo actions");
        let env = templates(specs.iter().flat_map(Spec::templates)).expect("loads");
        let orders: Vec<Value> = serde_json::from_str(
            &std::fs::read_to_string(root.join("actions/data/orders.json")).expect("orders"),
        )
        .expect("json");
        for code in ["es", "fr", "de", "pt"] {
            let render = |name: &str, result: &Value| {
                env.get_template(&format!("{name}.{code}"))
                    .and_then(|t| {
                        t.render(minijinja::context! {
                            result => minijinja::value::Serde(result),
                            args => minijinja::value::Serde(json!({})),
                        })
                    })
                    .unwrap_or_else(|e| panic!("{name}.{code}: {e:#}"))
            };
            for order in &orders {
                let status = order["status"].as_str().expect("status").replace('_', " ");
                let text = render("order_status", order);
                let first = text.trim().lines().next().unwrap_or_default();
                assert!(!first.ends_with(&status), "{code}: {first}");
                let listed = render("recent_orders", &json!({ "orders": [order] }));
                assert!(
                    !listed.contains(&format!(": {status},")),
                    "{code}: {listed}"
                );
            }
            assert!(!render("recent_orders", &json!({ "orders": [] })).is_empty());
        }
        // A payment's status agrees with its kind: an authorization is feminine in French.
        let billing = env
            .get_template("billing_lookup.fr")
            .and_then(|t| {
                let card = json!({"type": "card", "brand": "Visa", "last4": "1011"});
                let payment = |kind: &str, status: &str| {
                    json!({"created_at": "2026-09-02T10:00:00Z", "kind": kind, "amount": 118,
                        "method": card, "status": status})
                };
                t.render(minijinja::context! {
                    result => minijinja::value::Serde(json!({
                        "order_number": "NW-1035718", "total": 118, "status": "delivered", "invoice": null, "explanation": null,
                        "payments": [payment("authorization", "voided"), payment("capture", "succeeded")],
                    })),
                    args => minijinja::value::Serde(json!({})),
                })
            })
            .expect("renders");
        assert!(
            billing.contains("autorisation de 118,00 USD sur Visa se terminant par 1011 : annulée")
                && billing
                    .contains("débit de 118,00 USD sur Visa se terminant par 1011 : effectué"),
            "{billing}"
        );
    }
}
