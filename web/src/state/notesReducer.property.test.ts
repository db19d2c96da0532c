import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ChangeEventMessage, InitialNotesMessage, Note, ServerMessage } from '../api/types';
import type { NotesState } from './notesReducer';
import { compareNotes, emptyNotesState, reduceNotes } from './notesReducer';
import { makeNote } from '../test/notes';

// Each property runs a bounded number of random cases from a fixed seed, so a
// CI failure reproduces locally. fast-check prints the seed and the shrunk
// counterexample when a property fails.
const runs = { numRuns: 300, seed: 20250101 };

// A few ids, versions and times, so that generated messages often refer to the
// same note, repeat a version or share a timestamp.
const noteIds = [
  '0a4e2f1c-0000-4000-8000-000000000001',
  '0a4e2f1c-0000-4000-8000-000000000002',
  '0a4e2f1c-0000-4000-8000-000000000003',
  '0a4e2f1c-0000-4000-8000-000000000004',
  '0a4e2f1c-0000-4000-8000-000000000005',
];

const startMs = Date.UTC(2025, 0, 1, 12, 0, 0);

/**
 * Formats microseconds after `startMs` as the server's JSON does. chrono 0.4.45
 * serializes `DateTime<Utc>` with `SecondsFormat::AutoSi`: no fraction for
 * whole seconds, 3 digits for whole milliseconds, otherwise 6 digits for the
 * microseconds that the server keeps.
 */
function serverTimestamp(micros: number): string {
  const wholeSeconds = Math.floor(micros / 1_000_000);
  const fraction = micros % 1_000_000;
  const seconds = new Date(startMs + wholeSeconds * 1000).toISOString().slice(0, 19);
  if (fraction === 0) return `${seconds}Z`;
  if (fraction % 1000 === 0) return `${seconds}.${String(fraction / 1000).padStart(3, '0')}Z`;
  return `${seconds}.${String(fraction).padStart(6, '0')}Z`;
}

/** Parses a UTC RFC 3339 timestamp to microseconds since the epoch, independently of the reducer. */
function timestampMicros(timestamp: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (!match || match[1] === undefined) throw new Error(`invalid test timestamp: ${timestamp}`);
  const fractionMicros = Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
  return Date.parse(`${match[1]}Z`) * 1000 + fractionMicros;
}

/**
 * Compares two notes in the reducer's documented order, using exact
 * microseconds: newest `updated_at` first, then newest `created_at`, then
 * ascending id.
 */
function expectedOrder(a: Note, b: Note): number {
  const byUpdated = timestampMicros(b.updated_at) - timestampMicros(a.updated_at);
  if (byUpdated !== 0) return byUpdated;

  const byCreated = timestampMicros(b.created_at) - timestampMicros(a.created_at);
  if (byCreated !== 0) return byCreated;

  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

// Whole seconds, whole milliseconds and microseconds inside the first few
// milliseconds, so many pairs fall in the same millisecond but differ in
// the digits that Date.parse drops.
const micros = fc.oneof(
  fc.integer({ min: 0, max: 3 }).map((seconds) => seconds * 1_000_000),
  fc.integer({ min: 0, max: 3000 }).map((ms) => ms * 1000),
  fc.integer({ min: 0, max: 3000 }),
  fc.integer({ min: 0, max: 3_000_000 }),
);

const timestamp = micros.map(serverTimestamp);

const note: fc.Arbitrary<Note> = fc.record({
  id: fc.constantFrom(...noteIds),
  user_id: fc.constant('user-alice'),
  author: fc.constant('alice'),
  title: fc.string({ maxLength: 8 }),
  content: fc.string({ maxLength: 8 }),
  created_at: timestamp,
  updated_at: timestamp,
  version: fc.integer({ min: 1, max: 4 }),
});

// Small seqs so that generated sequences repeat seqs, go backwards and skip.
const seq = fc.integer({ min: 0, max: 20 });

const snapshot = (seqArbitrary: fc.Arbitrary<number>): fc.Arbitrary<InitialNotesMessage> =>
  fc.record({
    type: fc.constant('initial_notes' as const),
    data: fc.array(note, { maxLength: 6 }),
    seq: seqArbitrary,
  });

/** A change event without its seq, so a property can choose the seq. */
type EventBody =
  | { type: 'note_created'; data: Note }
  | { type: 'note_updated'; data: Note }
  | { type: 'note_deleted'; data: { id: string } };

const eventBody: fc.Arbitrary<EventBody> = fc.oneof(
  fc.record({ type: fc.constant('note_created' as const), data: note }),
  fc.record({ type: fc.constant('note_updated' as const), data: note }),
  fc.record({ type: fc.constant('note_deleted' as const), data: fc.record({ id: fc.constantFrom(...noteIds) }) }),
);

function withSeq(body: EventBody, eventSeq: number): ChangeEventMessage {
  return { ...body, seq: eventSeq } as ChangeEventMessage;
}

const changeEvent: fc.Arbitrary<ChangeEventMessage> = fc
  .tuple(eventBody, seq)
  .map(([body, eventSeq]) => withSeq(body, eventSeq));

// Snapshots are rarer than events, as after a reconnect.
const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  { arbitrary: snapshot(seq), weight: 1 },
  { arbitrary: changeEvent, weight: 6 },
);

const messages = fc.array(serverMessage, { maxLength: 30 });

/** Messages that start with a snapshot, so the state has a seq when later events arrive. */
const messagesAfterSnapshot = fc
  .tuple(snapshot(seq), fc.array(serverMessage, { maxLength: 20 }))
  .map(([first, rest]): ServerMessage[] => [first, ...rest]);

function applyAll(state: NotesState, list: readonly ServerMessage[]): NotesState {
  return list.reduce((current, message) => reduceNotes(current, message).state, state);
}

/**
 * The model of the cache after a snapshot: a map by id. Create and update
 * insert or replace unless the stored version is higher, and delete removes
 * by id. It ignores seqs, so callers pass events in increasing seq order.
 */
class NotesModel {
  private readonly byId = new Map<string, Note>();

  constructor(initial: InitialNotesMessage) {
    for (const item of initial.data) this.byId.set(item.id, item);
  }

  apply(event: ChangeEventMessage): void {
    if (event.type === 'note_deleted') {
      this.byId.delete(event.data.id);
      return;
    }
    const stored = this.byId.get(event.data.id);
    if (stored && event.data.version < stored.version) return;
    this.byId.set(event.data.id, event.data);
  }

  notes(): Note[] {
    return [...this.byId.values()].sort(expectedOrder);
  }
}

function expectUniqueAndOrdered(state: NotesState): void {
  const ids = state.notes.map((item) => item.id);
  expect(new Set(ids).size).toBe(ids.length);

  for (let i = 1; i < state.notes.length; i++) {
    const previous = state.notes[i - 1] as Note;
    const current = state.notes[i] as Note;
    expect(expectedOrder(previous, current), `${previous.updated_at} should sort before ${current.updated_at}`).toBeLessThan(0);
  }
}

describe('reduceNotes properties', () => {
  it('any sequence keeps unique ids and order', () => {
    fc.assert(
      fc.property(messages, (list) => {
        let state = emptyNotesState;
        for (const message of list) {
          state = reduceNotes(state, message).state;
          expectUniqueAndOrdered(state);
        }
      }),
      runs,
    );
  });

  it('stale or early event changes nothing', () => {
    const staleCase = fc.record({
      prefix: fc.oneof(messagesAfterSnapshot, fc.array(changeEvent, { maxLength: 5 })),
      body: eventBody,
      lag: fc.integer({ min: 0, max: 5 }),
      seqBeforeSnapshot: seq,
    });

    fc.assert(
      fc.property(staleCase, ({ prefix, body, lag, seqBeforeSnapshot }) => {
        const state = applyAll(emptyNotesState, prefix);
        // Before the first snapshot every event is early, whatever its seq.
        const eventSeq = state.seq === null ? seqBeforeSnapshot : state.seq - lag;

        const result = reduceNotes(state, withSeq(body, eventSeq));

        expect(result.state).toBe(state);
        expect(result.effect).toBeNull();
      }),
      runs,
    );
  });

  it('snapshot then newer events match model', () => {
    const resyncCase = fc.record({
      history: messages,
      initial: snapshot(seq),
      events: fc.array(fc.tuple(eventBody, fc.integer({ min: 1, max: 3 })), { maxLength: 20 }),
    });

    fc.assert(
      fc.property(resyncCase, ({ history, initial, events }) => {
        // Whatever came before, the snapshot replaces it.
        let state = reduceNotes(applyAll(emptyNotesState, history), initial).state;
        const model = new NotesModel(initial);
        expect(state.notes).toEqual(model.notes());
        expect(state.seq).toBe(initial.seq);

        // Seqs grow strictly but may skip numbers.
        let eventSeq = initial.seq;
        for (const [body, step] of events) {
          eventSeq += step;
          const event = withSeq(body, eventSeq);
          state = reduceNotes(state, event).state;
          model.apply(event);

          expect(state.notes).toEqual(model.notes());
          expect(state.seq).toBe(eventSeq);
        }
      }),
      runs,
    );
  });

  it('repeated event applies once', () => {
    const repeatCase = fc.record({
      prefix: fc.oneof(messagesAfterSnapshot, messages),
      body: eventBody,
      ahead: fc.integer({ min: -3, max: 5 }),
    });

    fc.assert(
      fc.property(repeatCase, ({ prefix, body, ahead }) => {
        const state = applyAll(emptyNotesState, prefix);
        // Mostly a new seq, so the first delivery usually applies.
        const event = withSeq(body, (state.seq ?? 0) + ahead);

        const once = reduceNotes(state, event).state;
        const twice = reduceNotes(once, event);

        expect(twice.state).toEqual(once);
        expect(twice.effect).toBeNull();
      }),
      runs,
    );
  });

  it('never throws on odd input', () => {
    // Beyond what the server sends: empty and unparsable timestamps, versions
    // below 1, negative seqs and local actions mixed with server messages.
    const oddTimestamp = fc.oneof(timestamp, fc.constantFrom('', 'not a date', '2025-01-01T12:00:00+01:00'));
    const oddNote: fc.Arbitrary<Note> = fc.record({
      id: fc.oneof(fc.constantFrom(...noteIds), fc.string({ maxLength: 3 })),
      user_id: fc.string({ maxLength: 3 }),
      author: fc.string({ maxLength: 3 }),
      title: fc.string({ maxLength: 3 }),
      content: fc.string({ maxLength: 3 }),
      created_at: oddTimestamp,
      updated_at: oddTimestamp,
      version: fc.integer({ min: -2, max: 4 }),
    });
    const oddSeq = fc.integer({ min: -5, max: 20 });
    const action = fc.oneof(
      fc.record({ type: fc.constant('initial_notes' as const), data: fc.array(oddNote, { maxLength: 6 }), seq: oddSeq }),
      fc.record({ type: fc.constant('note_created' as const), data: oddNote, seq: oddSeq }),
      fc.record({ type: fc.constant('note_updated' as const), data: oddNote, seq: oddSeq }),
      fc.record({ type: fc.constant('note_deleted' as const), data: fc.record({ id: fc.string({ maxLength: 3 }) }), seq: oddSeq }),
      fc.record({ type: fc.constant('local_upsert' as const), note: oddNote }),
      fc.record({ type: fc.constant('local_remove' as const), id: fc.string({ maxLength: 3 }) }),
    );

    fc.assert(
      fc.property(fc.array(action, { maxLength: 30 }), (list) => {
        let state = emptyNotesState;
        for (const item of list) {
          expect(() => {
            state = reduceNotes(state, item).state;
          }).not.toThrow();
        }
      }),
      runs,
    );
  });
});

describe('compareNotes', () => {
  it('orders whole second before microseconds', () => {
    const wholeSecond = makeNote('a', 'Whole second', 0, { updated_at: '2025-01-01T12:00:00Z' });
    const later = makeNote('b', 'Later', 0, { updated_at: '2025-01-01T12:00:00.000100Z' });
    expect([wholeSecond, later].sort(compareNotes).map((item) => item.id)).toEqual(['b', 'a']);
  });

  it('orders millisecond before microseconds', () => {
    const millisecond = makeNote('a', 'Millisecond', 0, { updated_at: '2025-01-01T12:00:00.001Z' });
    const later = makeNote('b', 'Later', 0, { updated_at: '2025-01-01T12:00:00.001500Z' });
    expect([millisecond, later].sort(compareNotes).map((item) => item.id)).toEqual(['b', 'a']);
  });
});
