-- Fewer B-tree pages written per message. A commit writes every page it changed to the log,
-- and the log's sync and checkpoints are most of what storing a message costs, so a message
-- that changes five pages instead of seven is cheaper to store and to check in:
-- * A message is numbered MAX(seq) + 1 of its conversation, read from the (conversation_id,
--   seq) index in the statement that inserts it (SQLite runs one writing statement at a time).
--   The conversation's counter, and the trigger that kept it, wrote one page more.
-- * Only a customer's message has a client_message_id, and only a reply a reply_to: each
--   index holds just the messages that have one. A unique constraint cannot be dropped in
--   SQLite, so the table is copied without it.
DROP TRIGGER messages_number;
ALTER TABLE conversations DROP COLUMN last_seq;

CREATE TABLE messages_lean (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations(id),
    seq               INTEGER NOT NULL,
    role              TEXT NOT NULL,
    text              TEXT NOT NULL,
    citations         TEXT NOT NULL DEFAULT '[]',
    actions           TEXT NOT NULL DEFAULT '[]',
    confidence        REAL,
    author            TEXT,
    client_message_id TEXT,
    reply_to          TEXT,
    created_at        TEXT NOT NULL,
    UNIQUE (conversation_id, seq)
);
INSERT INTO messages_lean (id, conversation_id, seq, role, text, citations, actions, confidence,
                           author, client_message_id, reply_to, created_at)
    SELECT id, conversation_id, seq, role, text, citations, actions, confidence,
           author, client_message_id, reply_to, created_at
    FROM messages ORDER BY rowid;
DROP TABLE messages;
ALTER TABLE messages_lean RENAME TO messages;

CREATE UNIQUE INDEX messages_client_message_id ON messages (conversation_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
