-- Failed identity checks per claimed identity (a lower-cased email), across conversations:
-- a new conversation every few guesses must not reset the limit. The count restarts when
-- its window (unix seconds at the first failure) has passed.
CREATE TABLE failed_checks (
    identity TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
