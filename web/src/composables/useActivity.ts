import { shallowRef } from 'vue';

import type { NotesEffect } from '../state/notesReducer';

export const ACTIVITY_MAX_ENTRIES = 20;

export interface ActivityEntry {
  /** Unique within the page, for list keys. */
  key: number;
  action: 'created' | 'updated' | 'deleted';
  noteId: string;
  author: string;
  /** The note's title, or null when a deleted note was never in the cache. */
  title: string | null;
  /** RFC 3339 time: the note's `updated_at`, or the time the deletion arrived. */
  at: string;
}

// App-wide because the feed outlives the components that feed it: the list
// subscribes to the socket, the feed only renders.
const entries = shallowRef<readonly ActivityEntry[]>([]);
let nextKey = 1;

const activity = {
  /** The last `ACTIVITY_MAX_ENTRIES` changes, newest first. */
  entries,

  /** Adds an entry for a create, update or delete. Snapshots add none. */
  record(effect: NotesEffect, receivedAt: Date = new Date()): void {
    if (effect.kind === 'snapshot') return;

    const entry: ActivityEntry =
      effect.kind === 'deleted'
        ? {
            key: nextKey++,
            action: 'deleted',
            noteId: effect.id,
            author: effect.previous?.author ?? 'Someone',
            title: effect.previous?.title ?? null,
            at: receivedAt.toISOString(),
          }
        : {
            key: nextKey++,
            action: effect.kind,
            noteId: effect.note.id,
            author: effect.note.author,
            title: effect.note.title,
            at: effect.note.updated_at,
          };

    entries.value = [entry, ...entries.value].slice(0, ACTIVITY_MAX_ENTRIES);
  },

  reset(): void {
    entries.value = [];
  },
};

/** Returns the app-wide activity feed. */
export function useActivity() {
  return activity;
}
