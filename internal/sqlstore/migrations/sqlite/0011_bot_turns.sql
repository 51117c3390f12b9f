-- A bot turn is written in one transaction (ApplyBotTurn); the session
-- records the turn that left it, so a repeated turn writes nothing.
ALTER TABLE bot_sessions ADD COLUMN last_trigger TEXT NOT NULL DEFAULT '';
