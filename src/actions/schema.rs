//! A small JSON Schema subset for action parameters, checked before any backend call:
//! `type: object` with `properties`, `required` and `additionalProperties: false` (always
//! enforced); per property `type` (string, integer, number, boolean), `enum`, `pattern`,
//! `minLength`, `maxLength`, `minimum`, `maximum`, `format: email`, `description` and
//! `examples` (the first one a reference parameter's example in the service's prompts).
//! A spec using anything else is refused at start, so no rule is silently ignored.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

/// A compiled parameter schema.
#[derive(Debug, Clone)]
pub struct Schema {
    properties: BTreeMap<String, Property>,
    required: Vec<String>,
}

#[derive(Debug, Clone)]
struct Property {
    kind: Kind,
    enumeration: Option<Vec<Value>>,
    pattern: Option<Regex>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    email: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
}

const OBJECT_KEYS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "description",
];
const PROPERTY_KEYS: &[&str] = &[
    "type",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "format",
    "description",
    "examples",
];

impl Schema {
    /// The compiled `pattern` of a parameter, if it has one.
    pub fn pattern(&self, name: &str) -> Option<&Regex> {
        self.properties.get(name)?.pattern.as_ref()
    }

    /// Compiles a schema; the error names the offending field.
    pub fn compile(schema: &Value) -> Result<Self, String> {
        let object = schema.as_object().ok_or("parameters must be a table")?;
        unknown_keys(object, OBJECT_KEYS, "parameters")?;
        if object.get("type").and_then(Value::as_str) != Some("object") {
            return Err("parameters.type must be \"object\"".into());
        }
        if object
            .get("additionalProperties")
            .is_some_and(|v| v != &Value::Bool(false))
        {
            return Err("parameters.additionalProperties can only be false".into());
        }
        let mut properties = BTreeMap::new();
        if let Some(props) = object.get("properties") {
            let props = props
                .as_object()
                .ok_or("parameters.properties must be a table")?;
            for (name, prop) in props {
                properties.insert(name.clone(), Property::compile(name, prop)?);
            }
        }
        let required: Vec<String> = match object.get("required") {
            None => Vec::new(),
            Some(list) => list
                .as_array()
                .ok_or("parameters.required must be a list")?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or("parameters.required must list names")?,
        };
        if let Some(missing) = required.iter().find(|r| !properties.contains_key(*r)) {
            return Err(format!(
                "parameters.required names {missing:?}, which is not a property"
            ));
        }
        Ok(Self {
            properties,
            required,
        })
    }

    /// Checks arguments; each problem is a short sentence naming the argument.
    pub fn validate(&self, args: &Value) -> Result<(), Vec<String>> {
        let Some(args) = args.as_object() else {
            return Err(vec!["arguments must be a JSON object".into()]);
        };
        let mut errors = Vec::new();
        for name in &self.required {
            if args.get(name).is_none_or(Value::is_null) {
                errors.push(format!("{name} is required"));
            }
        }
        for (name, value) in args {
            match self.properties.get(name) {
                None => errors.push(format!("{name} is not a known argument")),
                Some(_) if value.is_null() => {}
                Some(prop) => prop.check(name, value, &mut errors),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn unknown_keys(object: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("{at}.{key} is not supported")),
        None => Ok(()),
    }
}

impl Property {
    fn compile(name: &str, prop: &Value) -> Result<Self, String> {
        let at = format!("parameters.properties.{name}");
        let object = prop.as_object().ok_or(format!("{at} must be a table"))?;
        unknown_keys(object, PROPERTY_KEYS, &at)?;
        let kind = match object.get("type").and_then(Value::as_str) {
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("number") => Kind::Number,
            Some("boolean") => Kind::Boolean,
            _ => {
                return Err(format!(
                    "{at}.type must be string, integer, number or boolean"
                ));
            }
        };
        let pattern = match object.get("pattern") {
            None => None,
            Some(p) => {
                let p = p.as_str().ok_or(format!("{at}.pattern must be a string"))?;
                Some(Regex::new(p).map_err(|e| format!("{at}.pattern: {e}"))?)
            }
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            object
                .get(key)
                .map(|v| v.as_f64().ok_or(format!("{at}.{key} must be a number")))
                .transpose()
        };
        let count = |key: &str| -> Result<Option<usize>, String> {
            object
                .get(key)
                .map(|v| {
                    v.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or(format!("{at}.{key} must be a whole number"))
                })
                .transpose()
        };
        let email = match object.get("format").map(|f| f.as_str()) {
            None => false,
            Some(Some("email")) => true,
            Some(_) => return Err(format!("{at}.format can only be \"email\"")),
        };
        let (min_length, max_length) = (count("minLength")?, count("maxLength")?);
        if let (Some(min), Some(max)) = (min_length, max_length)
            && min > max
        {
            return Err(format!(
                "{at}.minLength is above its maxLength: no value fits"
            ));
        }
        let (minimum, maximum) = (number("minimum")?, number("maximum")?);
        if let (Some(min), Some(max)) = (minimum, maximum)
            && min > max
        {
            return Err(format!("{at}.minimum is above its maximum: no value fits"));
        }
        Ok(Self {
            kind,
            enumeration: object.get("enum").and_then(Value::as_array).cloned(),
            pattern,
            min_length,
            max_length,
            minimum,
            maximum,
            email,
        })
    }

    fn check(&self, name: &str, value: &Value, errors: &mut Vec<String>) {
        let type_ok = match self.kind {
            Kind::String => value.is_string(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Number => value.is_number(),
            Kind::Boolean => value.is_boolean(),
        };
        if !type_ok {
            errors.push(format!("{name} has the wrong type"));
            return;
        }
        if let Some(allowed) = &self.enumeration
            && !allowed.contains(value)
        {
            errors.push(format!("{name} is not one of the allowed values"));
        }
        if let Some(s) = value.as_str() {
            let len = s.chars().count();
            if self.min_length.is_some_and(|m| len < m) {
                errors.push(format!("{name} is too short"));
            }
            if self.max_length.is_some_and(|m| len > m) {
                errors.push(format!("{name} is too long"));
            }
            if let Some(pattern) = &self.pattern
                && !pattern.is_match(s)
            {
                errors.push(format!("{name} does not have the expected format"));
            }
            if self.email && !looks_like_email(s) {
                errors.push(format!("{name} is not an email address"));
            }
        }
        if let Some(n) = value.as_f64() {
            if self.minimum.is_some_and(|m| n < m) {
                errors.push(format!("{name} is below the minimum"));
            }
            if self.maximum.is_some_and(|m| n > m) {
                errors.push(format!("{name} is above the maximum"));
            }
        }
    }
}

/// Whether `s` has an email address's shape: a local part, `@`, a dotted domain; no spaces,
/// brackets or quotes (an apostrophe is fine: o'brien@…); 254 characters at most.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "<>()[]\\,;:\"".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order_schema() -> Schema {
        Schema::compile(&json!({
            "type": "object",
            "required": ["order_number"],
            "properties": {
                "order_number": {"type": "string", "pattern": "^NW-[0-9]{7}$"},
                "email": {"type": "string", "format": "email", "maxLength": 100},
                "limit": {"type": "integer", "minimum": 1, "maximum": 10}
            }
        }))
        .expect("valid schema")
    }

    #[test]
    fn valid_arguments_pass() {
        let s = order_schema();
        assert!(
            s.validate(&json!({"order_number": "NW-1048276", "email": "a@b.example", "limit": 3}))
                .is_ok()
        );
    }

    #[test]
    fn injection_and_wrong_shapes_are_refused() {
        let s = order_schema();
        for bad in [
            json!({"order_number": "NW-1048276' OR '1'='1"}),
            json!({"order_number": "../../etc/passwd"}),
            json!({"order_number": 1048276}),
            json!({}),
            json!({"order_number": "NW-1048276", "limit": 99}),
            json!({"order_number": "NW-1048276", "email": "not-an-email"}),
            json!({"order_number": "NW-1048276", "extra": true}),
            json!("NW-1048276"),
        ] {
            assert!(s.validate(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unsupported_schema_keywords_are_refused_at_load() {
        let err = Schema::compile(&json!({
            "type": "object",
            "properties": {"x": {"type": "string", "oneOf": []}}
        }))
        .expect_err("oneOf is not supported");
        assert!(err.contains("parameters.properties.x.oneOf"), "{err}");
        let err = Schema::compile(&json!({"type": "object", "required": ["y"]}))
            .expect_err("unknown required");
        assert!(err.contains("\"y\""), "{err}");
    }
}
