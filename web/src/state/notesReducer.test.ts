import { describe, expect, it } from 'vitest';

import type { NotesState } from './notesReducer';
import { emptyNotesState, reduceNotes } from './notesReducer';
import { makeNote } from '../test/notes';

function ids(state: NotesState): string[] {
  return state.notes.map((note) => note.id);
}

function titles(state: NotesState): string[] {
  return state.notes.map((note) => note.title);
}

const groceries = makeNote('n1', 'Groceries', 1);
const plan = makeNote('n2', 'Plan', 2);
const ideas = makeNote('n3', 'Ideas', 3);

function snapshotOfThree(): NotesState {
  return reduceNotes(emptyNotesState, { type: 'initial_notes', data: [groceries, ideas, plan], seq: 10 }).state;
}

describe('reduceNotes', () => {
  it('snapshot sorts newest first', () => {
    const state = snapshotOfThree();
    expect(ids(state)).toEqual(['n3', 'n2', 'n1']);
    expect(titles(state)).toEqual(['Ideas', 'Plan', 'Groceries']);
    expect(state.seq).toBe(10);
  });

  it('create inserts by updated_at', () => {
    const note = makeNote('n4', 'Middle', 2, { updated_at: new Date(Date.UTC(2025, 0, 1, 12, 2, 30)).toISOString() });
    const { state, effect } = reduceNotes(snapshotOfThree(), { type: 'note_created', data: note, seq: 11 });
    expect(ids(state)).toEqual(['n3', 'n4', 'n2', 'n1']);
    expect(state.seq).toBe(11);
    expect(effect).toEqual({ kind: 'created', note, previous: undefined });
  });

  it('update replaces and moves to top', () => {
    const updated = makeNote('n1', 'Groceries and more', 5, { version: 2 });
    const { state, effect } = reduceNotes(snapshotOfThree(), { type: 'note_updated', data: updated, seq: 11 });
    expect(ids(state)).toEqual(['n1', 'n3', 'n2']);
    expect(titles(state)).toEqual(['Groceries and more', 'Ideas', 'Plan']);
    expect(effect?.kind).toBe('updated');
    const previous = effect && 'previous' in effect ? effect.previous : undefined;
    expect(previous?.title).toBe('Groceries');
  });

  it('delete removes and reports previous', () => {
    const { state, effect } = reduceNotes(snapshotOfThree(), { type: 'note_deleted', data: { id: 'n2' }, seq: 11 });
    expect(ids(state)).toEqual(['n3', 'n1']);
    expect(effect).toEqual({ kind: 'deleted', id: 'n2', previous: plan });
  });

  it('duplicate create does not duplicate', () => {
    const again = { ...groceries, title: 'Groceries again' };
    const { state } = reduceNotes(snapshotOfThree(), { type: 'note_created', data: again, seq: 11 });
    expect(ids(state)).toEqual(['n3', 'n2', 'n1']);
    expect(titles(state)).toEqual(['Ideas', 'Plan', 'Groceries again']);
  });

  it('update for unknown id inserts', () => {
    const stranger = makeNote('n9', 'Arrived late', 9, { version: 3 });
    const { state } = reduceNotes(snapshotOfThree(), { type: 'note_updated', data: stranger, seq: 11 });
    expect(ids(state)).toEqual(['n9', 'n3', 'n2', 'n1']);
  });

  it('lower version is ignored', () => {
    let state = snapshotOfThree();
    state = reduceNotes(state, { type: 'note_updated', data: { ...plan, title: 'Plan v3', version: 3 }, seq: 11 }).state;
    const result = reduceNotes(state, { type: 'note_updated', data: { ...plan, title: 'Plan v2', version: 2 }, seq: 12 });
    expect(result.effect).toBeNull();
    expect(titles(result.state)).toEqual(['Ideas', 'Plan v3', 'Groceries']);
    expect(result.state.seq).toBe(12);
  });

  it('stale and repeated seq are ignored', () => {
    let state = snapshotOfThree();
    state = reduceNotes(state, { type: 'note_created', data: makeNote('n4', 'Fresh', 4), seq: 12 }).state;
    expect(state.seq).toBe(12);

    const repeated = reduceNotes(state, { type: 'note_deleted', data: { id: 'n4' }, seq: 12 });
    expect(repeated.effect).toBeNull();
    expect(repeated.state).toBe(state);

    const older = reduceNotes(state, { type: 'note_created', data: makeNote('n5', 'Old', 9), seq: 11 });
    expect(older.effect).toBeNull();
    expect(ids(older.state)).toEqual(['n4', 'n3', 'n2', 'n1']);
  });

  it('out-of-order arrival keeps the newer', () => {
    let state = snapshotOfThree();
    state = reduceNotes(state, { type: 'note_updated', data: { ...ideas, title: 'Ideas v2', version: 2 }, seq: 12 }).state;
    // seq 11 arrives after seq 12: the reducer drops it, and the next snapshot repairs anything missed.
    state = reduceNotes(state, { type: 'note_deleted', data: { id: 'n3' }, seq: 11 }).state;
    expect(ids(state)).toEqual(['n3', 'n2', 'n1']);
    expect(titles(state)).toEqual(['Ideas v2', 'Plan', 'Groceries']);
  });

  it('events before a snapshot are ignored', () => {
    const result = reduceNotes(emptyNotesState, { type: 'note_created', data: groceries, seq: 1 });
    expect(result.effect).toBeNull();
    expect(result.state).toBe(emptyNotesState);
  });

  it('second snapshot replaces everything', () => {
    let state = snapshotOfThree();
    const first = state;

    state = reduceNotes(state, { type: 'note_created', data: makeNote('n4', 'Created', 6), seq: 11 }).state;
    expect(ids(state)).toEqual(['n4', 'n3', 'n2', 'n1']);
    expect(titles(state)).toEqual(['Created', 'Ideas', 'Plan', 'Groceries']);

    state = reduceNotes(state, { type: 'note_updated', data: { ...groceries, title: 'Groceries v2', updated_at: makeNote('x', 'x', 7).updated_at, version: 2 }, seq: 12 }).state;
    expect(ids(state)).toEqual(['n1', 'n4', 'n3', 'n2']);
    expect(titles(state)).toEqual(['Groceries v2', 'Created', 'Ideas', 'Plan']);

    state = reduceNotes(state, { type: 'note_deleted', data: { id: 'n3' }, seq: 13 }).state;
    expect(ids(state)).toEqual(['n1', 'n4', 'n2']);
    expect(titles(state)).toEqual(['Groceries v2', 'Created', 'Plan']);

    const before = state;
    const other = makeNote('m1', 'Other one', 1, { author: 'bob', user_id: 'user-bob' });
    const otherTwo = makeNote('m2', 'Other two', 2, { author: 'bob', user_id: 'user-bob' });
    // A restarted server may count from a lower seq, and the snapshot still wins.
    state = reduceNotes(state, { type: 'initial_notes', data: [other, otherTwo], seq: 5 }).state;
    expect(ids(state)).toEqual(['m2', 'm1']);
    expect(titles(state)).toEqual(['Other two', 'Other one']);
    expect(state.seq).toBe(5);
    expect(state.notes).not.toBe(before.notes);
    expect(first.notes).toHaveLength(3);

    state = reduceNotes(state, { type: 'note_created', data: makeNote('m3', 'After resync', 8), seq: 6 }).state;
    expect(ids(state)).toEqual(['m3', 'm2', 'm1']);
  });

  it('local upsert and remove keep seq', () => {
    let state = snapshotOfThree();
    state = reduceNotes(state, { type: 'local_upsert', note: makeNote('n4', 'Mine', 8) }).state;
    expect(ids(state)).toEqual(['n4', 'n3', 'n2', 'n1']);
    expect(state.seq).toBe(10);

    // The server's event for the same write then applies by id without a duplicate.
    state = reduceNotes(state, { type: 'note_created', data: makeNote('n4', 'Mine', 8), seq: 11 }).state;
    expect(ids(state)).toEqual(['n4', 'n3', 'n2', 'n1']);

    const removed = reduceNotes(state, { type: 'local_remove', id: 'n4' });
    expect(ids(removed.state)).toEqual(['n3', 'n2', 'n1']);
    expect(removed.state.seq).toBe(11);

    const missing = reduceNotes(removed.state, { type: 'local_remove', id: 'n4' });
    expect(missing.effect).toBeNull();
  });

  it('never mutates the input state', () => {
    const state = snapshotOfThree();
    const notes = state.notes;
    const copy = [...notes];
    reduceNotes(state, { type: 'note_deleted', data: { id: 'n1' }, seq: 11 });
    reduceNotes(state, { type: 'note_created', data: makeNote('n4', 'New', 9), seq: 11 });
    expect(state.notes).toBe(notes);
    expect(state.notes).toEqual(copy);
  });
});
