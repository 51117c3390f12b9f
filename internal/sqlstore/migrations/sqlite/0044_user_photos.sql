-- People's photos (docs/widget.md, Photos): the square PNG the avatar
-- package made, apart from users so that listing people never reads them;
-- users.photo is a token that changes with it ('' without one).
CREATE TABLE user_photos (
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    png        BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
ALTER TABLE users ADD COLUMN photo TEXT NOT NULL DEFAULT '';
