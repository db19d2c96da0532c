-- Initial schema of the SQLite store.
--
-- Ids are UUIDs in lowercase hyphenated text, which sorts in the same order
-- as the UUID bytes. Times are INTEGER microseconds since the Unix epoch in
-- UTC, so a time read back compares equal to the one written.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL,
    -- The canonical (trimmed, lowercased) address; the store compares it as is.
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created       INTEGER NOT NULL
) STRICT;

CREATE TABLE notes (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    author     TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    content    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1)
) STRICT;

-- Every listing is newest updated_at first, ties broken by id.
CREATE INDEX notes_updated_at_id_idx ON notes (updated_at DESC, id DESC);
CREATE INDEX notes_user_id_idx ON notes (user_id);

-- The newest events of the change sequence, kept for replay. payload is the
-- JSON form of the whole ChangeEvent.
CREATE TABLE change_log (
    seq        INTEGER NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    note_id    TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The last sequence number handed out. Every write transaction increments
-- this one row, so a rolled-back write leaves no gap.
CREATE TABLE change_seq (
    id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;

INSERT INTO change_seq (id, seq) VALUES (1, 0);
