import { mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { useActivity } from '../composables/useActivity';
import { useNotes } from '../composables/useNotes';
import { configureSharedSocket } from '../composables/useWebSocket';
import { FakeSocket, createFakeSocket } from '../test/fakeSocket';
import { makeNote } from '../test/notes';
import NoteList from './NoteList.vue';

const props = { currentUserId: 'user-alice', readOnlyReason: null };

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
  useNotes().reset();
  useActivity().reset();
  configureSharedSocket({ createSocket: createFakeSocket, checkSession: async () => 'valid', networkEvents: null });
});

afterEach(() => {
  configureSharedSocket({ createSocket: createFakeSocket, networkEvents: null }).close();
  vi.useRealTimers();
});

describe('NoteList', () => {
  it('remounting keeps one subscription', async () => {
    const first = mount(NoteList, { props });
    const listenersAfterFirstMount = FakeSocket.latest().listenerCount;
    expect(listenersAfterFirstMount).toBeGreaterThan(0);
    first.unmount();

    for (let round = 1; round < 10; round += 1) {
      mount(NoteList, { props }).unmount();
    }

    const wrapper = mount(NoteList, { props });
    const socket = FakeSocket.latest();
    expect(FakeSocket.live()).toHaveLength(1);
    expect(socket.listenerCount).toBe(listenersAfterFirstMount);

    socket.open();
    socket.send({ type: 'initial_notes', data: [makeNote('n1', 'Groceries', 1)], seq: 4 });
    await wrapper.vm.$nextTick();
    expect(wrapper.findAll('[data-testid="note-card"]')).toHaveLength(1);

    const applyMessage = vi.spyOn(useNotes(), 'applyMessage');
    socket.send({ type: 'note_created', data: makeNote('n2', 'Plan', 2, { user_id: 'user-bob', author: 'bob' }), seq: 5 });
    await wrapper.vm.$nextTick();

    expect(applyMessage).toHaveBeenCalledTimes(1);
    const cards = wrapper.findAll('[data-testid="note-card"]');
    expect(cards.map((card) => card.attributes('data-note-id'))).toEqual(['n2', 'n1']);
    expect(useActivity().entries.value).toHaveLength(1);
    expect(useActivity().entries.value[0]?.title).toBe('Plan');

    // Only the owner gets edit and delete controls.
    expect(cards[0]?.find('[data-testid="edit-note"]').exists()).toBe(false);
    expect(cards[1]?.find('[data-testid="edit-note"]').exists()).toBe(true);
    wrapper.unmount();
  });

  it('unmount leaves no timers or sockets', async () => {
    const wrapper = mount(NoteList, { props });
    const socket = FakeSocket.latest();
    socket.open();
    socket.send({ type: 'initial_notes', data: [makeNote('n1', 'Groceries', 1)], seq: 1 });
    await wrapper.vm.$nextTick();
    socket.drop(1006);
    expect(vi.getTimerCount()).toBeGreaterThan(0);

    wrapper.unmount();

    expect(vi.getTimerCount()).toBe(0);
    expect(FakeSocket.live()).toHaveLength(0);
    expect(socket.listenerCount).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('deletion activity keeps the title', async () => {
    const wrapper = mount(NoteList, { props });
    const socket = FakeSocket.latest();
    socket.open();
    socket.send({ type: 'initial_notes', data: [makeNote('n1', 'Old plan', 1, { author: 'bob' })], seq: 1 });
    socket.send({ type: 'note_deleted', data: { id: 'n1' }, seq: 2 });
    await wrapper.vm.$nextTick();

    expect(wrapper.findAll('[data-testid="note-card"]')).toHaveLength(0);
    const [entry] = useActivity().entries.value;
    expect(entry?.action).toBe('deleted');
    expect(entry?.author).toBe('bob');
    expect(entry?.title).toBe('Old plan');
    wrapper.unmount();
  });
});
