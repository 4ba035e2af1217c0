//! The built-in backend: the demo store tables, always filtered by the verified customer.

use serde_json::{Value, json};

use super::spec::BuiltinQuery;
use crate::storage::{OrderRecords, Store, StoreError};

/// Runs a built-in query. `Ok(None)` means no such record for this customer.
pub async fn run(
    store: &Store,
    query: BuiltinQuery,
    args: &Value,
    verified_as: Option<&str>,
) -> Result<Option<Value>, StoreError> {
    let arg = |name: &str| args[name].as_str().unwrap_or_default().to_owned();
    if query == BuiltinQuery::VerifyCustomer {
        let id = store
            .customer_matching(&arg("email"), &arg("order_number"))
            .await?;
        return Ok(id.map(|id| json!({ "customer_id": id })));
    }
    let Some(subject) = verified_as else {
        return Ok(None);
    };
    let Some(customer) = store.customer_by_identity(subject).await? else {
        return Ok(None);
    };
    let order_number = arg("order_number");
    match query {
        BuiltinQuery::VerifyCustomer => Ok(None),
        BuiltinQuery::RecentOrders => {
            let orders = store.customer_orders(&customer, 5).await?;
            Ok(Some(json!({ "orders": orders })))
        }
        BuiltinQuery::OrderStatus => store.customer_order(&customer, &order_number).await,
        BuiltinQuery::Billing => {
            let Some(order) = store.customer_order(&customer, &order_number).await? else {
                return Ok(None);
            };
            let invoices = store
                .order_records(OrderRecords::Invoices, &customer, &order_number)
                .await?;
            let payments = store
                .order_records(OrderRecords::Payments, &customer, &order_number)
                .await?;
            let refunds = store
                .order_records(OrderRecords::Refunds, &customer, &order_number)
                .await?;
            Ok(Some(json!({
                "order_number": order_number,
                "status": order["status"],
                "total": order["total"],
                "currency": order["currency"],
                "invoice": invoices.first(),
                "payments": payments,
                "refunds": refunds,
                "explanation": explain_charges(&payments),
            })))
        }
        BuiltinQuery::RefundStatus => {
            let Some(order) = store.customer_order(&customer, &order_number).await? else {
                return Ok(None);
            };
            let refunds = store
                .order_records(OrderRecords::Refunds, &customer, &order_number)
                .await?;
            // An order cancelled before it was charged has nothing to refund.
            let payments = store
                .order_records(OrderRecords::Payments, &customer, &order_number)
                .await?;
            let charged = payments.iter().any(|p| is(p, "capture", "succeeded"));
            Ok(Some(json!({
                "order_number": order_number,
                "status": order["status"],
                "charged": charged,
                "refunds": refunds,
            })))
        }
    }
}

/// Whether a payment record is of this kind ("capture", "authorization") and status.
fn is(payment: &Value, kind: &str, status: &str) -> bool {
    payment["kind"] == kind && payment["status"] == status
}

/// Why a customer may see more than one charge: two successful captures (a real duplicate),
/// or a pending authorization hold beside the capture (it drops off by itself).
pub fn explain_charges(payments: &[Value]) -> Option<&'static str> {
    let captures = payments
        .iter()
        .filter(|p| is(p, "capture", "succeeded"))
        .count();
    let holds = payments
        .iter()
        .filter(|p| is(p, "authorization", "pending"))
        .count();
    if captures >= 2 {
        Some("duplicate_capture")
    } else if holds > 0 && captures > 0 {
        Some("pending_hold")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_explained() {
        let capture = json!({"kind": "capture", "status": "succeeded"});
        let hold = json!({"kind": "authorization", "status": "pending"});
        let voided = json!({"kind": "authorization", "status": "voided"});
        assert_eq!(
            explain_charges(&[capture.clone(), capture.clone()]),
            Some("duplicate_capture")
        );
        assert_eq!(
            explain_charges(&[hold, capture.clone()]),
            Some("pending_hold")
        );
        assert_eq!(explain_charges(&[voided, capture]), None);
    }
}
