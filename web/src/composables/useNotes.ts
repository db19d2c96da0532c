import { computed, shallowRef } from 'vue';

import * as api from '../api/client';
import { ApiError } from '../api/http';
import type { Note, NoteInput, NoteUpdateInput, ServerMessage } from '../api/types';
import { emptyNotesState, reduceNotes, type NotesAction, type NotesEffect, type NotesState } from '../state/notesReducer';

// The cache is app-wide (module level) because the list, the create form, the
// activity feed and every card read and write the same notes. A component that
// unmounts, for example a card during a reconnect, must not take data with it.
const state = shallowRef<NotesState>(emptyNotesState);

// Notes that left the cache, by id. A local delete removes the note before
// the server's `note_deleted` arrives, and the activity feed still needs its
// title then. Capped so a long session does not grow it without bound.
const removedNotes = new Map<string, Note>();
const REMOVED_NOTES_MAX = 100;

function rememberRemoved(note: Note): void {
  removedNotes.delete(note.id);
  removedNotes.set(note.id, note);
  if (removedNotes.size > REMOVED_NOTES_MAX) {
    const oldest = removedNotes.keys().next().value;
    if (oldest !== undefined) removedNotes.delete(oldest);
  }
}

function dispatch(action: NotesAction): NotesEffect | null {
  const result = reduceNotes(state.value, action);
  state.value = result.state;

  const effect = result.effect;
  if (effect?.kind !== 'deleted') return effect;

  if (effect.previous) {
    rememberRemoved(effect.previous);
    return effect;
  }
  const remembered = removedNotes.get(effect.id);
  return remembered ? { ...effect, previous: remembered } : effect;
}

/** Sends an update and applies the server's response. A conflict carries the stored note, which is newer than the cache. */
async function sendUpdate(id: string, input: NoteUpdateInput): Promise<Note> {
  try {
    const note = await api.updateNote(id, input);
    dispatch({ type: 'local_upsert', note });
    return note;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'version_conflict' && error.current) {
      dispatch({ type: 'local_upsert', note: error.current });
    }
    throw error;
  }
}

const store = {
  /** Notes, newest `updated_at` first. */
  notes: computed(() => state.value.notes),
  /** True once the first snapshot has arrived. */
  loaded: computed(() => state.value.seq !== null),
  /** Sequence number of the last server message applied. */
  seq: computed(() => state.value.seq),

  /** Applies one message from the socket and returns what changed, or null if it was stale. */
  applyMessage(message: ServerMessage): NotesEffect | null {
    return dispatch(message);
  },

  findNote(id: string): Note | undefined {
    return state.value.notes.find((note) => note.id === id);
  },

  async create(input: NoteInput): Promise<Note> {
    const note = await api.createNote(input);
    dispatch({ type: 'local_upsert', note });
    return note;
  },

  /**
   * Saves an edit that started from `input.version`. Rejects with an
   * `ApiError` whose code is `version_conflict` and whose `current` is the
   * stored note when someone saved in between.
   */
  update: sendUpdate,

  /** Deletes a note. A note that is already gone counts as deleted. */
  async remove(id: string): Promise<void> {
    try {
      await api.deleteNote(id);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'not_found')) throw error;
    }
    dispatch({ type: 'local_remove', id });
  },

  /** Empties the cache, as on sign-out, so the next user sees nothing of this one's. */
  reset(): void {
    state.value = emptyNotesState;
    removedNotes.clear();
  },
};

/** Returns the app-wide notes cache and the actions that change notes on the server. */
export function useNotes() {
  return store;
}
