-- As in SQLite's 0006: only a reply has a reply_to, so its index holds just the replies (a
-- page less to write per customer message). The unique constraint on (conversation_id,
-- client_message_id) stays whole here: a replica of an older build, still running during a
-- rolling upgrade, names it in its ON CONFLICT, which a partial index would not match.
-- Numbering stays with the trigger, which locks the conversation's row.
DROP INDEX messages_reply_to;
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
