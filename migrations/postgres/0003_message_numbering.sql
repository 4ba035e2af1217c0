-- A message takes its conversation's next number in the statement that inserts it (the
-- number the INSERT proposes is replaced). Incrementing the conversation's counter locks its
-- row, so concurrent inserts into one conversation, on any replica, number in turn. A repeated
-- client_message_id inserts nothing and gives its number back, so numbers have no gaps: once
-- the lock is held, the check sees a duplicate committed meanwhile.
CREATE FUNCTION number_message() RETURNS trigger AS $$
BEGIN
    UPDATE conversations SET last_seq = last_seq + 1 WHERE id = NEW.conversation_id
        RETURNING last_seq INTO NEW.seq;
    IF NEW.client_message_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM messages
        WHERE conversation_id = NEW.conversation_id AND client_message_id = NEW.client_message_id
    ) THEN
        UPDATE conversations SET last_seq = last_seq - 1 WHERE id = NEW.conversation_id;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_number BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION number_message();
