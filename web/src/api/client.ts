import { request } from './http';
import type {
  LoginRequest,
  MessageResponse,
  Note,
  NoteInput,
  NoteUpdateInput,
  RegisterRequest,
  SessionResponse,
  User,
} from './types';

// One function per endpoint of the server's HTTP API.

export function register(input: RegisterRequest): Promise<SessionResponse> {
  return request('/api/register', { method: 'POST', body: input, sessionRequired: false });
}

export function login(input: LoginRequest): Promise<SessionResponse> {
  return request('/api/login', { method: 'POST', body: input, sessionRequired: false });
}

export function logout(): Promise<MessageResponse> {
  return request('/api/logout', { method: 'POST', sessionRequired: false });
}

/** Returns the signed-in user. Rejects with status 401 when there is no valid session cookie. */
export function fetchCurrentUser(): Promise<User> {
  return request('/api/me', { sessionRequired: false });
}

export function listNotes(): Promise<Note[]> {
  return request('/api/notes');
}

export function createNote(input: NoteInput): Promise<Note> {
  return request('/api/notes', { method: 'POST', body: input });
}

/** Updates a note if it is still at `input.version`, else rejects with a `version_conflict` carrying the stored note. */
export function updateNote(id: string, input: NoteUpdateInput): Promise<Note> {
  return request(`/api/notes/${encodeURIComponent(id)}`, { method: 'PUT', body: input });
}

export function deleteNote(id: string): Promise<MessageResponse> {
  return request(`/api/notes/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
