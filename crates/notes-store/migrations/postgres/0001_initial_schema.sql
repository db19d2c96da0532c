-- Initial schema of the PostgreSQL store.

CREATE TABLE users (
    id            UUID        NOT NULL PRIMARY KEY,
    username      TEXT        NOT NULL,
    -- The canonical (trimmed, lowercased) address; the store compares it as is.
    email         TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    created       TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

-- The program lowercases addresses before they reach the database. This
-- index also rejects a second address that differs only in case, should a
-- row ever be written by something else.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE notes (
    id         UUID        NOT NULL PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES users (id),
    author     TEXT        NOT NULL,
    title      TEXT        NOT NULL,
    content    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT      NOT NULL CHECK (version >= 1)
);

-- Every listing is newest updated_at first, ties broken by id.
CREATE INDEX notes_updated_at_id_idx ON notes (updated_at DESC, id DESC);
CREATE INDEX notes_user_id_idx ON notes (user_id);

-- The newest events of the change sequence, kept for replay. payload is the
-- JSON form of the whole ChangeEvent.
CREATE TABLE change_log (
    seq        BIGINT      NOT NULL PRIMARY KEY,
    kind       TEXT        NOT NULL,
    note_id    UUID        NOT NULL,
    payload    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The last sequence number handed out. Every write transaction increments
-- this one row, and the row lock makes concurrent writers, also those of
-- other server processes, commit one at a time in sequence order. A
-- rolled-back write rolls its increment back too, so there are no gaps.
CREATE TABLE change_seq (
    id  SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    seq BIGINT   NOT NULL CHECK (seq >= 0)
);

INSERT INTO change_seq (id, seq) VALUES (1, 0);
