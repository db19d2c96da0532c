// Wire types of the notes server's JSON. They mirror the Rust crate
// `notes-core` types `User`, `Note` and `ChangeEvent`, and the error body that
// the server sends with every non-2xx response. Ids are UUID strings and times
// are RFC 3339 strings in UTC.

/** A registered user as the server returns it (never with a password hash). */
export interface User {
  id: string;
  username: string;
  email: string;
  created: string;
}

/** A note. Only the owner (`user_id`) may change or delete it. */
export interface Note {
  id: string;
  user_id: string;
  /** The owner's username at the time the note was created. */
  author: string;
  title: string;
  content: string;
  created_at: string;
  updated_at: string;
  /** Starts at 1 and grows by one with each update. */
  version: number;
}

/** Response body of `POST /api/register` and `POST /api/login`. */
export interface SessionResponse {
  /** The session token. The app ignores it and relies on the httpOnly cookie. */
  token: string;
  user: User;
}

/** Response body of logout and delete. */
export interface MessageResponse {
  message: string;
}

/** Request body of `POST /api/register`. */
export interface RegisterRequest {
  username: string;
  email: string;
  password: string;
}

/** Request body of `POST /api/login`. */
export interface LoginRequest {
  email: string;
  password: string;
}

/** Request body of `POST /api/notes`. */
export interface NoteInput {
  title: string;
  content: string;
}

/** Request body of `PUT /api/notes/{id}`: `version` is the version the edit started from. */
export interface NoteUpdateInput extends NoteInput {
  version: number;
}

/** The `code` values of the server's error body. */
export type ErrorCode =
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'email_taken'
  | 'version_conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'internal';

/** Input fields that a `validation_failed` error can name. */
export type ErrorField = 'title' | 'content' | 'email' | 'username' | 'password';

/** The error body: `{"error": {...}}`. */
export interface ErrorBody {
  error: {
    code: ErrorCode | string;
    message: string;
    field?: ErrorField;
    /** The stored note, sent with `version_conflict`. */
    current?: Note;
  };
}

/** First WebSocket message after connecting: every note, and the sequence number it reflects. */
export interface InitialNotesMessage {
  type: 'initial_notes';
  data: Note[];
  seq: number;
}

/** A `ChangeEvent` as the WebSocket sends it. `seq` grows strictly with each write. */
export type ChangeEventMessage =
  | { type: 'note_created'; data: Note; seq: number }
  | { type: 'note_updated'; data: Note; seq: number }
  | { type: 'note_deleted'; data: { id: string }; seq: number };

/** Every message the server sends on `/ws`. The client sends none. */
export type ServerMessage = InitialNotesMessage | ChangeEventMessage;
