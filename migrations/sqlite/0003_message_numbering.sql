-- A message takes its conversation's next number in the statement that inserts it:
--   INSERT INTO messages (..., seq, ...) SELECT ..., last_seq + 1, ... FROM conversations ...
-- SQLite runs one writing statement at a time, so the number read is the latest; this
-- trigger records it as the conversation's last. A message skipped by ON CONFLICT DO NOTHING
-- fires no trigger and takes no number.
CREATE TRIGGER messages_number AFTER INSERT ON messages
BEGIN
    UPDATE conversations SET last_seq = NEW.seq WHERE id = NEW.conversation_id;
END;
