import type { Note } from '../api/types';

/** Builds a note whose `updated_at` is `minute` minutes after a fixed start. */
export function makeNote(id: string, title: string, minute: number, overrides: Partial<Note> = {}): Note {
  const time = new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString();
  return {
    id,
    user_id: 'user-alice',
    author: 'alice',
    title,
    content: `${title} content`,
    created_at: time,
    updated_at: time,
    version: 1,
    ...overrides,
  };
}
