-- As in SQLite's 0006: only a customer's message has a client_message_id, and only a reply a
-- reply_to, so each index holds just the messages that have one (a page less to write per
-- message). Numbering stays with the trigger, which locks the conversation's row.
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_client_message_id_key;
CREATE UNIQUE INDEX messages_client_message_id ON messages (conversation_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
DROP INDEX messages_reply_to;
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
