//! Action specs: one TOML file per action in `actions/`, loaded and validated at start. A bad
//! spec stops the start with an error naming the file and the field.

use std::{collections::BTreeMap, path::Path};

use serde::Deserialize;

use super::schema::Schema;
use crate::phrases::Lang;

/// One action as written in `actions/NAME.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The tool name the model sees (letters, digits, `_`).
    pub name: String,
    /// What the action does, for the model.
    pub description: String,
    /// Whether the conversation must be verified as a customer first (default true).
    #[serde(default = "yes")]
    pub requires_verified: bool,
    /// Whether a successful run marks the conversation verified as the customer it returns
    /// (the in-chat identity check: email + order number).
    #[serde(default)]
    pub verifies_customer: bool,
    /// Which customer question the deterministic router sends here (without a model):
    /// `verify`, `order_status`, `recent_orders`, `billing` or `refund_status`.
    pub intent: Option<Intent>,
    /// JSON Schema of the arguments (see `schema` for the supported subset).
    pub parameters: toml::Value,
    pub backend: BackendSpec,
    /// minijinja template rendering the exact facts for the customer from `result` and `args`.
    pub template: String,
    /// What the customer is told when there is no such record (or it is not theirs).
    #[serde(default = "not_found_text")]
    pub not_found: String,
    /// `template` and `not_found` in other languages, by code (`[translations.fr]`): a chat
    /// in that language gets them; any other language, or a text not given, the defaults.
    #[serde(default)]
    pub translations: BTreeMap<String, Translation>,
}

/// An action's texts in one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub template: Option<String>,
    pub not_found: Option<String>,
}

fn yes() -> bool {
    true
}

fn not_found_text() -> String {
    "I couldn't find a matching record for you. Please check the order number and the email address you used.".into()
}

/// Customer questions the deterministic router recognises.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Verify,
    OrderStatus,
    RecentOrders,
    Billing,
    RefundStatus,
}

/// Where an action gets its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BackendSpec {
    /// The demo store tables in the database.
    Builtin { query: BuiltinQuery },
    /// The business's own HTTP API.
    Http(HttpSpec),
}

/// The built-in queries over the demo store.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinQuery {
    VerifyCustomer,
    OrderStatus,
    RecentOrders,
    Billing,
    RefundStatus,
}

/// A call to the business's API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `GET` or `POST`.
    #[serde(default = "get")]
    pub method: String,
    /// URL with `{argument}` and `{customer_id}` placeholders; values are percent-encoded.
    pub url: String,
    /// Headers; `${NAME}` in a value is replaced by the environment variable NAME (a secret).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Output field → JSON pointer into the response (`/order/status`). Without it the
    /// whole response is the result.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// JSON pointer to the customer id in the response; when set, a record whose owner is
    /// not the verified customer is treated as not found.
    pub owner: Option<String>,
    /// Statuses that mean "no such record" (default 404).
    #[serde(default = "not_found_statuses")]
    pub not_found_status: Vec<u16>,
}

fn get() -> String {
    "GET".into()
}
fn default_timeout_ms() -> u64 {
    5_000
}
fn not_found_statuses() -> Vec<u16> {
    vec![404]
}

/// A loaded, validated action.
#[derive(Debug, Clone)]
pub struct Spec {
    pub file: SpecFile,
    pub schema: Schema,
    /// The parameters as JSON, for the model's tool definition.
    pub parameters_json: serde_json::Value,
}

impl Spec {
    /// What the customer is told when there is no such record, in `lang` if translated.
    pub fn not_found(&self, lang: Lang) -> &str {
        self.file
            .translations
            .get(lang.code())
            .and_then(|t| t.not_found.as_deref())
            .unwrap_or(&self.file.not_found)
    }

    /// The templates that render facts: (template name, source), the default one named as
    /// the action and a translation as `name.code`.
    pub fn templates(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let name = &self.file.name;
        std::iter::once((name.clone(), self.file.template.clone())).chain(
            self.file
                .translations
                .iter()
                .filter_map(move |(code, t)| Some((format!("{name}.{code}"), t.template.clone()?))),
        )
    }

    /// The identity an identity check claims: the lower-cased value of its first argument
    /// the schema marks `format = "email"` (None for other actions).
    pub fn claimed_identity(&self, args: &serde_json::Value) -> Option<String> {
        if !self.file.verifies_customer {
            return None;
        }
        args[self.email_param()?]
            .as_str()
            .map(|email| email.trim().to_lowercase())
    }

    /// For an identity check, its email and reference arguments (name, value in lower case):
    /// what the customer must have written for the check to prove who they are. None for
    /// other actions.
    pub fn identity_args(&self, args: &serde_json::Value) -> Vec<(&str, String)> {
        if !self.file.verifies_customer {
            return Vec::new();
        }
        [self.email_param(), self.reference_param()]
            .into_iter()
            .flatten()
            .map(|name| {
                let value = args[name].as_str().unwrap_or_default();
                (name, value.trim().to_lowercase())
            })
            .collect()
    }

    /// The parameter that names the record asked about (the order number): the first string
    /// parameter, in the order `required` lists them, that is not an email. (An optional
    /// one is no reference: a date pattern of its would read every date as an order.)
    pub fn reference_param(&self) -> Option<&str> {
        let properties = &self.parameters_json["properties"];
        self.parameters_json["required"]
            .as_array()?
            .iter()
            .filter_map(serde_json::Value::as_str)
            .find(|name| {
                properties[*name]["type"] == "string" && properties[*name]["format"] != "email"
            })
    }

    /// The reference parameter's first example (`examples = ["R-10001"]`).
    pub fn reference_example(&self) -> Option<&str> {
        self.parameters_json["properties"][self.reference_param()?]["examples"][0].as_str()
    }

    /// The reference parameter's pattern (`^NW-[0-9]{7}$`), as the schema compiled it.
    pub fn reference_pattern(&self) -> Option<&regex::Regex> {
        self.schema.pattern(self.reference_param()?)
    }

    /// The arguments the deterministic router gives: the record's reference and the
    /// customer's email, under this action's own parameter names (those it has).
    pub fn router_args(&self, reference: Option<&str>, email: Option<&str>) -> serde_json::Value {
        let mut args = serde_json::Map::new();
        if let (Some(name), Some(reference)) = (self.reference_param(), reference) {
            args.insert(name.to_owned(), reference.into());
        }
        if let (Some(name), Some(email)) = (self.email_param(), email) {
            args.insert(name.to_owned(), email.into());
        }
        serde_json::Value::Object(args)
    }

    /// Whether the action requires the argument `name`.
    fn requires(&self, name: &str) -> bool {
        self.parameters_json["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|v| v == name))
    }

    /// An identity check (`verifies_customer`) runs before the customer is verified, and
    /// proves who they are with two things found in the chat by the parameters the router
    /// fills: their email (a required [`Spec::email_param`]) and a reference only they have,
    /// such as an order number ([`Spec::reference_param`]).
    fn check_identity_check(&self) -> Result<(), String> {
        if self.file.requires_verified {
            return Err(
                "verifies_customer needs requires_verified = false (the check is what verifies)"
                    .into(),
            );
        }
        if !self.email_param().is_some_and(|name| self.requires(name)) {
            return Err(
                "verifies_customer needs a required parameter with format = \"email\"".into(),
            );
        }
        if self.reference_param().is_none() {
            return Err(
                "verifies_customer needs a second required string parameter, a reference only \
                 the customer has (such as an order number): an email alone proves nothing"
                    .into(),
            );
        }
        Ok(())
    }

    /// The parameter with `format = "email"`, if any.
    fn email_param(&self) -> Option<&str> {
        self.parameters_json["properties"]
            .as_object()?
            .iter()
            .find(|(_, schema)| schema["format"] == "email")
            .map(|(name, _)| name.as_str())
    }
}

/// Loads every `*.toml` in `dir` (sorted by file name). A missing folder means no actions.
pub fn load_dir(dir: &Path) -> Result<Vec<Spec>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut specs: Vec<Spec> = Vec::new();
    for path in paths {
        let at = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{at}: {e}"))?;
        let spec = parse(&text).map_err(|e| format!("{at}: {e}"))?;
        if specs.iter().any(|s| s.file.name == spec.file.name) {
            return Err(format!("{at}: name {:?} is used twice", spec.file.name));
        }
        if let Some(other) = specs
            .iter()
            .find(|s| s.file.intent.is_some() && s.file.intent == spec.file.intent)
        {
            return Err(format!(
                "{at}: intent is {}'s already (the router sends each intent to one action)",
                other.file.name
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// Parses and validates one spec.
pub fn parse(text: &str) -> Result<Spec, String> {
    // The whole error: where in the file, and what was expected there.
    let file: SpecFile = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
    if file.name.is_empty()
        || file.name.len() > 64
        || !file
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err("name must be 1-64 letters, digits or '_'".into());
    }
    if file.name == super::HANDOFF_TOOL {
        return Err(format!("name {:?} is reserved", super::HANDOFF_TOOL));
    }
    if file.description.trim().is_empty() {
        return Err("description must not be empty".into());
    }
    let parameters_json =
        serde_json::to_value(&file.parameters).map_err(|e| format!("parameters: {e}"))?;
    let schema = Schema::compile(&parameters_json)?;
    for code in file.translations.keys() {
        if Lang::of_locale(Some(code)).is_none_or(|lang| lang.code() != code) {
            return Err(format!(
                "translations.{code}: the language must be one of es, fr, de, pt or en"
            ));
        }
    }
    let mut env = minijinja::Environment::new();
    let templates = std::iter::once(("template".to_owned(), &file.template)).chain(
        file.translations.iter().filter_map(|(code, translation)| {
            Some((
                format!("translations.{code}.template"),
                translation.template.as_ref()?,
            ))
        }),
    );
    for (field, template) in templates {
        env.add_template_owned(field.clone(), template.clone())
            .map_err(|e| format!("{field}: {e}"))?;
        // A currency written in the template is checked now, not at the first lookup.
        for code in super::filters::literal_currencies(template) {
            super::filters::currency_code(code).map_err(|e| format!("{field}: {e}"))?;
        }
    }
    let spec = Spec {
        file,
        schema,
        parameters_json,
    };
    if spec.file.verifies_customer {
        spec.check_identity_check()?;
    }
    if let BackendSpec::Http(http) = &spec.file.backend {
        if !matches!(http.method.as_str(), "GET" | "POST") {
            return Err("backend.method must be GET or POST".into());
        }
        let sample = http.url.replace(['{', '}'], "");
        let url = reqwest::Url::parse(&sample).map_err(|e| format!("backend.url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("backend.url must be an http or https URL".into());
        }
        if http.timeout_ms == 0 || http.timeout_ms > 60_000 {
            return Err("backend.timeout_ms must be between 1 and 60000".into());
        }
        // Every placeholder is filled on every call: the verified customer or a required
        // parameter (a misspelt one would fail each lookup, not the start).
        for piece in http.url.split('{').skip(1) {
            let Some((name, _)) = piece.split_once('}') else {
                return Err("backend.url: a '{' is not closed".into());
            };
            if name == "customer_id" && !spec.file.requires_verified {
                return Err(
                    "backend.url: {customer_id} needs requires_verified = true (an unverified \
                     chat has no customer)"
                        .into(),
                );
            }
            if name != "customer_id" && !spec.requires(name) {
                return Err(format!(
                    "backend.url: {{{name}}} must be {{customer_id}} or a required parameter"
                ));
            }
        }
        if let Some(status) = http
            .not_found_status
            .iter()
            .find(|status| !(100..=599).contains(*status))
        {
            return Err(format!(
                "backend.not_found_status: {status} is no HTTP status"
            ));
        }
        let pointers = http
            .fields
            .iter()
            .map(|(name, p)| (format!("backend.fields.{name}"), p))
            .chain(http.owner.iter().map(|p| ("backend.owner".to_owned(), p)));
        for (at, pointer) in pointers {
            if !pointer.starts_with('/') {
                return Err(format!(
                    "{at} must be a JSON pointer like \"/order/status\""
                ));
            }
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "order_status"
description = "Status of one order"
template = "Order {{ args.order_number }} is {{ result.status }}."
[parameters]
type = "object"
required = ["order_number"]
[parameters.properties.order_number]
type = "string"
pattern = "^NW-[0-9]{7}$"
[backend]
kind = "http"
url = "https://api.store.example/orders/{order_number}"
headers = { Authorization = "Bearer ${STORE_TOKEN}" }
fields = { status = "/status" }
owner = "/customer_id"
"#;

    #[test]
    fn a_complete_http_spec_loads() {
        let spec = parse(GOOD).expect("valid");
        assert_eq!(spec.file.name, "order_status");
        assert!(spec.file.requires_verified);
        assert_eq!(spec.parameters_json["required"][0], "order_number");
    }

    #[test]
    fn a_translation_replaces_the_texts_it_gives() {
        let spec = parse(&format!(
            "{GOOD}\n[translations.fr]\nnot_found = \"Introuvable.\"\n[translations.de]\ntemplate = \"Bestellung\"\n"
        ))
        .expect("valid");
        assert_eq!(spec.not_found(Lang::Fr), "Introuvable.");
        assert_eq!(
            spec.not_found(Lang::De),
            spec.file.not_found,
            "not translated"
        );
        assert_eq!(spec.not_found(Lang::En), spec.file.not_found);
        let names: Vec<String> = spec.templates().map(|(name, _)| name).collect();
        assert_eq!(names, ["order_status", "order_status.de"]);
    }

    #[test]
    fn the_router_fills_the_actions_own_parameter_names() {
        let spec = parse(&GOOD.replace("order_number", "rental")).expect("valid");
        assert_eq!(spec.reference_param(), Some("rental"));
        assert_eq!(
            spec.router_args(Some("NW-1234567"), Some("ana@example.com")),
            serde_json::json!({"rental": "NW-1234567"}),
            "no email parameter"
        );
        let extra = "[parameters.properties.a_note]\ntype = \"string\"\n\
            [parameters.properties.mail]\ntype = \"string\"\nformat = \"email\"\n[backend]";
        let check = parse(&GOOD.replace("[backend]", extra)).expect("valid");
        assert_eq!(
            check.reference_param(),
            Some("order_number"),
            "a required one, not an optional one"
        );
        // The first in `required`'s order, whatever the properties' (alphabetical) order.
        let two = parse(
            &GOOD
                .replace(
                    "required = [\"order_number\"]",
                    "required = [\"order_number\", \"last_name\"]",
                )
                .replace(
                    "[backend]",
                    "[parameters.properties.last_name]\ntype = \"string\"\n[backend]",
                ),
        )
        .expect("valid");
        assert_eq!(two.reference_param(), Some("order_number"));
        assert_eq!(
            check.router_args(Some("NW-1234567"), Some("ana@example.com")),
            serde_json::json!({"order_number": "NW-1234567", "mail": "ana@example.com"})
        );
    }

    #[test]
    fn two_actions_of_one_name_or_intent_stop_the_start() {
        let with_intent = GOOD.replace("[parameters]", "intent = \"order_status\"\n[parameters]");
        for (second, expected) in [
            (with_intent.clone(), "name \"order_status\" is used twice"),
            (
                with_intent.replace("name = \"order_status\"", "name = \"order_lookup\""),
                "intent is order_status's already",
            ),
        ] {
            let dir = tempfile::tempdir().expect("dir");
            std::fs::write(dir.path().join("a.toml"), &with_intent).expect("write");
            std::fs::write(dir.path().join("b.toml"), second).expect("write");
            let err = load_dir(dir.path()).expect_err("refused");
            assert!(err.contains("b.toml") && err.contains(expected), "{err}");
        }
    }

    #[test]
    fn bad_specs_name_the_field() {
        let cases = [
            (GOOD.replace("kind = \"http\"", "kind = \"ftp\""), "ftp"),
            (
                GOOD.replace("type = \"string\"", "type = \"date\""),
                "parameters.properties.order_number.type",
            ),
            (
                GOOD.replace("\"/status\"", "\"status\""),
                "backend.fields.status",
            ),
            (
                GOOD.replace("{{ result.status }}", "{{ result.status "),
                "template",
            ),
            (
                GOOD.replace("description = \"Status of one order\"\n", ""),
                "description",
            ),
            (
                GOOD.replace(
                    "{{ result.status }}",
                    "{{ result.total | money(currency=\\\"EURO\\\") }}",
                ),
                "template: \"EURO\" is not a currency code",
            ),
            (format!("{GOOD}\nsurprise = 1\n"), "surprise"),
            (
                GOOD.replace("{order_number}\"", "{order_numbr}\""),
                "backend.url: {order_numbr}",
            ),
            (
                GOOD.replace("owner = ", "not_found_status = [99]\nowner = "),
                "backend.not_found_status: 99",
            ),
            (
                GOOD.replace("{order_number}\"", "{order_number\""),
                "backend.url: a '{' is not closed",
            ),
            (
                GOOD.replace("[parameters]", "requires_verified = false\n[parameters]")
                    .replace("/orders/", "/customers/{customer_id}/orders/"),
                "needs requires_verified = true",
            ),
            (
                GOOD.replace("description = \"Status of one order\"", "description = 5"),
                "line 3",
            ),
            (
                format!("{GOOD}\n[translations.it]\ntemplate = \"Ordine\"\n"),
                "translations.it",
            ),
            (
                format!("{GOOD}\n[translations.fr]\ntemplate = \"{{{{ result\"\n"),
                "translations.fr.template",
            ),
            (
                format!("{GOOD}\n[translations.fr]\nsubject = \"Commande\"\n"),
                "subject",
            ),
            (
                GOOD.replace("https://api.store", "ftp://api.store"),
                "backend.url must be an http or https URL",
            ),
            (
                GOOD.replace("[parameters]", "verifies_customer = true\n[parameters]"),
                "verifies_customer needs requires_verified = false",
            ),
            (
                GOOD.replace(
                    "[parameters]",
                    "verifies_customer = true\nrequires_verified = false\n[parameters]",
                ),
                "verifies_customer needs a required parameter with format = \"email\"",
            ),
            (
                GOOD.replace(
                    "[parameters]",
                    "verifies_customer = true\nrequires_verified = false\n[parameters]",
                )
                .replace("required = [\"order_number\"]", "required = [\"mail\"]")
                .replace(
                    "[backend]",
                    "[parameters.properties.mail]\ntype = \"string\"\nformat = \"email\"\n[backend]",
                )
                .replace("/customer_id", "/owner"),
                "an email alone proves nothing",
            ),
            (
                GOOD.replace("pattern = ", "minLength = 9\nmaxLength = 3\npattern = "),
                "minLength is above its maxLength",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(&text).expect_err("invalid");
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
        }
    }
}
