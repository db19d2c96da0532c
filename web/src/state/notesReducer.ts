import type { Note, ServerMessage } from '../api/types';

/**
 * The client's copy of the notes. `notes` is sorted newest `updated_at`
 * first. `seq` is the sequence number of the last server message applied,
 * or null before the first snapshot.
 */
export interface NotesState {
  readonly notes: readonly Note[];
  readonly seq: number | null;
}

/**
 * A change that the client made itself and already has the server's response
 * for. These carry no `seq` because they do not come from the event stream.
 * The matching server event arrives later and is applied by id as usual.
 */
export type LocalAction = { type: 'local_upsert'; note: Note } | { type: 'local_remove'; id: string };

export type NotesAction = ServerMessage | LocalAction;

/** Change that one action made to the cache. `previous` is the note it replaced or removed. */
export type NotesEffect =
  | { kind: 'snapshot'; count: number }
  | { kind: 'created' | 'updated'; note: Note; previous?: Note }
  | { kind: 'deleted'; id: string; previous?: Note };

export interface ReduceResult {
  state: NotesState;
  /** null when the action changed no note. The state may still record a newer `seq`. */
  effect: NotesEffect | null;
}

export const emptyNotesState: NotesState = { notes: [], seq: null };

/** Returns the fraction digits of an RFC 3339 time padded to nanoseconds, or all zeros when it has none. */
function fractionDigits(time: string): string {
  const match = /:\d{2}\.(\d+)/.exec(time);
  return (match?.[1] ?? '').padEnd(9, '0');
}

/** Compares two RFC 3339 times newest first, to the microsecond. */
function compareTimesNewestFirst(a: string, b: string): number {
  const byMillis = Date.parse(b) - Date.parse(a);
  if (byMillis !== 0 && !Number.isNaN(byMillis)) return byMillis;
  if (a === b) return 0;

  // Date.parse keeps milliseconds only, and the server stores microseconds.
  // The server writes 0, 3 or 6 fraction digits (chrono's `AutoSi` format), so
  // the fractions are padded to one length before they are compared as text.
  if (byMillis === 0) {
    const aFraction = fractionDigits(a);
    const bFraction = fractionDigits(b);
    if (aFraction !== bFraction) return aFraction < bFraction ? 1 : -1;
  }

  // Unparsable times, or one instant written in two offsets, get a stable order by text.
  return a < b ? 1 : -1;
}

/** Orders notes newest `updated_at` first, then by newest `created_at`, then by id for a stable order. */
export function compareNotes(a: Note, b: Note): number {
  const byUpdated = compareTimesNewestFirst(a.updated_at, b.updated_at);
  if (byUpdated !== 0) return byUpdated;

  const byCreated = compareTimesNewestFirst(a.created_at, b.created_at);
  if (byCreated !== 0) return byCreated;

  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

function sorted(notes: Note[]): Note[] {
  return notes.sort(compareNotes);
}

function upsert(state: NotesState, note: Note, seq: number | null): ReduceResult {
  const previous = state.notes.find((existing) => existing.id === note.id);
  if (previous && note.version < previous.version) {
    // An older version than the one shown: a late or replayed event.
    return { state: seq === null ? state : { ...state, seq }, effect: null };
  }

  const others = state.notes.filter((existing) => existing.id !== note.id);
  const notes = sorted([...others, note]);
  return {
    state: { notes, seq: seq ?? state.seq },
    effect: { kind: previous ? 'updated' : 'created', note, previous },
  };
}

function remove(state: NotesState, id: string, seq: number | null): ReduceResult {
  const previous = state.notes.find((existing) => existing.id === id);
  const notes = previous ? state.notes.filter((existing) => existing.id !== id) : state.notes;
  return {
    state: { notes, seq: seq ?? state.seq },
    effect: { kind: 'deleted', id, previous },
  };
}

/**
 * Applies one server message or local action and returns the new state.
 * Never mutates `state`: every change returns new objects, so a Vue ref that
 * contains the state triggers its watchers.
 *
 * - `initial_notes` replaces everything and records its `seq`, even a lower
 *   one, because a snapshot is the whole truth after a reconnect.
 * - Events with `seq` at or below the recorded one are ignored, and so are
 *   events that arrive before the first snapshot.
 * - Create and update apply by id: a create for a known id replaces the
 *   note, an update for an unknown id inserts it, and a note whose `version`
 *   is lower than the stored one is ignored.
 */
export function reduceNotes(state: NotesState, action: NotesAction): ReduceResult {
  switch (action.type) {
    case 'initial_notes': {
      const byId = new Map<string, Note>();
      for (const note of action.data) byId.set(note.id, note);
      const notes = sorted([...byId.values()]);
      return { state: { notes, seq: action.seq }, effect: { kind: 'snapshot', count: notes.length } };
    }

    case 'note_created':
    case 'note_updated':
    case 'note_deleted': {
      if (state.seq === null || action.seq <= state.seq) return { state, effect: null };
      if (action.type === 'note_deleted') return remove(state, action.data.id, action.seq);

      const result = upsert(state, action.data, action.seq);
      if (result.effect?.kind === 'created' || result.effect?.kind === 'updated') {
        // The activity feed reports the event type that the server sent, so a
        // create for a known id still reads as a create.
        const kind = action.type === 'note_created' ? 'created' : 'updated';
        return { state: result.state, effect: { ...result.effect, kind } };
      }
      return result;
    }

    case 'local_upsert':
      return upsert(state, action.note, null);

    case 'local_remove':
      if (!state.notes.some((note) => note.id === action.id)) return { state, effect: null };
      return remove(state, action.id, null);
  }
}
