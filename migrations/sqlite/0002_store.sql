-- The built-in demo store behind the actions: each row keeps its document as JSON, with the
-- keys that queries filter on as columns. Seeded from actions/data/*.json on first start.
CREATE TABLE store_customers (
    id     TEXT PRIMARY KEY,
    email  TEXT NOT NULL UNIQUE,
    doc    TEXT NOT NULL
);
CREATE TABLE store_orders (
    number      TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES store_customers(id),
    placed_at   TEXT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX store_orders_customer ON store_orders(customer_id, placed_at);
CREATE TABLE store_invoices (
    number       TEXT PRIMARY KEY,
    order_number TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX store_invoices_order ON store_invoices(order_number);
CREATE TABLE store_payments (
    id           TEXT PRIMARY KEY,
    order_number TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX store_payments_order ON store_payments(order_number, created_at);
CREATE TABLE store_refunds (
    id           TEXT PRIMARY KEY,
    order_number TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX store_refunds_order ON store_refunds(order_number);

-- Failed identity checks and not-found lookups per conversation (wrong guesses are limited).
ALTER TABLE conversations ADD COLUMN failed_lookups INTEGER NOT NULL DEFAULT 0;
