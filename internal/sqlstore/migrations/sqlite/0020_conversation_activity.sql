-- A conversation's activity (docs/routing.md, Activity): its events other
-- than messages and receipts, which the message path writes and which the
-- index leaves out, so that path pays nothing for it.
CREATE INDEX events_activity ON events(account_id, conversation_id, seq)
    WHERE conversation_id <> '' AND type <> 'message.created' AND type <> 'receipt.updated';
