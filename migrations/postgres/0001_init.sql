-- Core tables: conversations, their messages, help articles, handoffs, channels, feedback.
CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    channel      TEXT NOT NULL,
    locale       TEXT,
    customer     TEXT NOT NULL DEFAULT '{}',   -- JSON: name, email, external_id
    verified_as  TEXT,                          -- customer id or email once verified
    mode         TEXT NOT NULL DEFAULT 'ai',    -- 'ai' | 'human'
    last_seq     BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations(id),
    seq               BIGINT NOT NULL,
    role              TEXT NOT NULL,
    text              TEXT NOT NULL,
    citations         TEXT NOT NULL DEFAULT '[]',
    actions           TEXT NOT NULL DEFAULT '[]',
    confidence        DOUBLE PRECISION,
    author            TEXT,
    client_message_id TEXT,
    reply_to          TEXT,
    created_at        TEXT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_message_id)
);
CREATE INDEX messages_reply_to ON messages(reply_to);

CREATE TABLE articles (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    format      TEXT NOT NULL,
    url         TEXT,
    locale      TEXT,
    tags        TEXT NOT NULL DEFAULT '[]',
    source      TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE handoffs (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    summary         TEXT NOT NULL,
    claimed_by      TEXT,
    message_id      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX handoffs_status ON handoffs(status, created_at);
CREATE INDEX handoffs_conversation ON handoffs(conversation_id);

CREATE TABLE channels (
    name        TEXT PRIMARY KEY,
    human_only  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE feedback (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    message_id      TEXT,
    rating          TEXT NOT NULL,
    comment         TEXT,
    created_at      TEXT NOT NULL
);

-- Small key/value facts about the store itself (knowledge import done, articles version).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('articles_version', '0');
