//! The facts of an action's result an agent acts on, for the line of a handoff summary read at
//! a glance: order, status, carrier, tracking, dates, totals, invoice, refunds. The whole
//! result stays in the conversation's actions.

use serde_json::Value;

use super::summary::quote;

/// What an agent acts on in a built-in action's result (`actions/*.toml`), by JSON pointer,
/// with its label: status, carrier, tracking, dates, totals, invoice, why a charge repeats.
/// Internal ids, items and addresses stay in the conversation's actions.
const FACTS: &[(&str, &str)] = &[
    ("/number", "order"),
    ("/order_number", "order"),
    ("/status", "status"),
    ("/shipping/carrier", "carrier"),
    ("/shipping/tracking_number", "tracking"),
    ("/shipping/estimated_delivery", "estimated delivery"),
    ("/shipping/delivered_at", "delivered"),
    ("/total", "total"),
    ("/invoice/number", "invoice"),
    ("/invoice/status", "invoice status"),
    ("/explanation", "charges"),
];

/// The same for each element of a result's lists: refunds, and the orders of a listing.
const LISTED: &[(&str, &[(&str, &str)])] = &[
    (
        "refunds",
        &[
            ("/amount", "refund"),
            ("/status", "status"),
            ("/issued_at", "issued"),
            ("/expected_by", "expected by"),
        ],
    ),
    (
        "orders",
        &[
            ("/number", "order"),
            ("/status", "status"),
            ("/total", "total"),
        ],
    ),
];

/// The fields of an action's result an agent acts on (`order NW-1234567, status in_transit,
/// carrier UPS, …`), for a line read at a glance; the whole result is in the conversation's
/// actions. A result of another shape (an HTTP backend's) shows its plain fields but ids.
pub(super) fn brief(result: &Value) -> String {
    let mut facts = labelled(result, FACTS);
    for (list, fields) in LISTED {
        for item in result[*list].as_array().into_iter().flatten() {
            facts.extend(labelled(item, fields));
        }
    }
    if facts.is_empty() {
        facts = result
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| *name != "id" && !name.ends_with("_id") && !personal(name))
            .filter_map(|(name, value)| Some(format!("{name} {}", plain(value)?)))
            .take(6)
            .collect();
    }
    if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    }
}

/// Whether a field holds personal data that stays out of the summary (it reaches the queue and
/// the webhook's chat room): contact details, card or bank numbers, secrets.
fn personal(name: &str) -> bool {
    const PERSONAL: &[&str] = &[
        "email", "phone", "address", "birth", "card", "iban", "ssn", "password", "token", "secret",
    ];
    let name = name.to_ascii_lowercase();
    PERSONAL.iter().any(|p| name.contains(p))
}

/// `fields` of `object` that are there, as "label value"; amounts with the object's currency,
/// times (`…_at`) as their date.
fn labelled(object: &Value, fields: &[(&str, &str)]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|(pointer, label)| {
            let value = object.pointer(pointer)?;
            let mut text = plain(value)?;
            if pointer.ends_with("_at") {
                text = text.chars().take(10).collect();
            }
            if value.is_number()
                && let Some(currency) = object["currency"].as_str()
            {
                text = format!("{text} {currency}");
            }
            Some(format!("{label} {text}"))
        })
        .collect()
}

/// A string, number or boolean as shown; `None` for anything else.
fn plain(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(quote(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn results_show_what_an_agent_acts_on_not_internal_ids() {
        // Shapes of actions/data/*.json as the built-in actions return them.
        let order = json!({
            "number": "NW-1046247",
            "customer_id": "cust_0026",
            "placed_at": "2026-08-04T02:41:05Z",
            "status": "in_transit",
            "items": [{"sku": "AP-4008-S", "name": "Kettle", "quantity": 1}],
            "subtotal": 24.0,
            "shipping_cost": 19.95,
            "total": 46.17,
            "currency": "USD",
            "shipping": {
                "method": "expedited",
                "carrier": "FedEx",
                "tracking_number": "243281315103",
                "shipped_at": "2026-08-04T23:05:09Z",
                "estimated_delivery": "2026-08-07",
                "delivered_at": null,
            },
            "shipping_address": {"line1": "1 Main St"},
        });
        assert_eq!(
            brief(&order),
            " (order NW-1046247, status in_transit, carrier FedEx, tracking 243281315103, \
             estimated delivery 2026-08-07, total 46.17 USD)"
        );
        let delivered = json!({
            "number": "NW-1031485",
            "status": "delivered",
            "shipping": {"carrier": "UPS", "tracking_number": "1Z9", "estimated_delivery": "2026-08-07", "delivered_at": "2026-08-06T18:36:27Z"},
        });
        assert_eq!(
            brief(&delivered),
            " (order NW-1031485, status delivered, carrier UPS, tracking 1Z9, \
             estimated delivery 2026-08-07, delivered 2026-08-06)"
        );
        let billing = json!({
            "order_number": "NW-1046247",
            "status": "delivered",
            "total": 39.17,
            "currency": "USD",
            "invoice": {"number": "INV-2026-05149", "status": "paid", "amount": 39.17},
            "payments": [{"id": "pay_1", "amount": 39.17, "kind": "capture"}],
            "refunds": [],
            "explanation": "duplicate_capture",
        });
        assert_eq!(
            brief(&billing),
            " (order NW-1046247, status delivered, total 39.17 USD, invoice INV-2026-05149, \
             invoice status paid, charges duplicate_capture)"
        );
        let refunds = json!({
            "order_number": "NW-1046247",
            "refunds": [{
                "id": "ref_20443",
                "customer_id": "cust_0026",
                "amount": 26.22,
                "currency": "USD",
                "status": "issued",
                "method": {"type": "store_credit"},
                "issued_at": "2026-08-19T21:54:08Z",
                "expected_by": "2026-08-19",
                "note": "Full return.",
            }],
        });
        assert_eq!(
            brief(&refunds),
            " (order NW-1046247, refund 26.22 USD, status issued, issued 2026-08-19, \
             expected by 2026-08-19)"
        );
        let listing = json!({"orders": [
            {"number": "NW-1", "status": "delivered", "total": 10.0, "currency": "USD"},
            {"number": "NW-2", "status": "processing", "total": 5.5, "currency": "USD"},
        ]});
        assert_eq!(
            brief(&listing),
            " (order NW-1, status delivered, total 10.0 USD, order NW-2, status processing, \
             total 5.5 USD)"
        );
        // Another backend's shape: its plain fields, but not its ids.
        assert_eq!(
            brief(&json!({"id": "o1", "owner_id": "7", "state": "shipped", "lines": [1]})),
            " (state shipped)"
        );
        assert_eq!(brief(&json!({"customer_id": "cust_0026"})), "");
        assert_eq!(
            brief(
                &json!({"plan": "gold", "email": "ana@example.com", "Phone_Number": "555", "billing_address": "1 Main St"})
            ),
            " (plan gold)"
        );
        assert_eq!(brief(&json!(null)), "");
    }
}
