-- Conversation labels (docs/routing.md, Labels). The conversation keeps its
-- labels as a JSON array for reading; conversation_labels has a row per
-- label for filtering and counting.
ALTER TABLE conversations ADD COLUMN labels TEXT NOT NULL DEFAULT '';
CREATE TABLE conversation_labels (
    account_id       TEXT NOT NULL,
    label            TEXT NOT NULL,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    PRIMARY KEY (account_id, label, conversation_id)
);
