import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { useNotes } from '../composables/useNotes';
import { makeNote } from '../test/notes';
import NoteCard from './NoteCard.vue';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

beforeEach(() => {
  useNotes().reset();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('NoteCard', () => {
  it('conflict shows both and overwrites', async () => {
    const note = makeNote('n1', 'Plan', 1);
    const theirs = { ...note, title: 'Plan (theirs)', content: 'their text', version: 2 };
    const saved = { ...note, title: 'Plan (mine)', content: 'my text', version: 3 };
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(jsonResponse(409, { error: { code: 'version_conflict', message: 'changed', current: theirs } }))
      .mockResolvedValueOnce(jsonResponse(200, saved));
    vi.stubGlobal('fetch', fetchMock);

    const wrapper = mount(NoteCard, { props: { note, own: true, readOnlyReason: null } });
    await wrapper.get('[data-testid="edit-note"]').trigger('click');
    await wrapper.get('[data-testid="edit-title"]').setValue('Plan (mine)');
    await wrapper.get('[data-testid="edit-content"]').setValue('my text');
    await wrapper.get('[data-testid="edit-form"]').trigger('submit');
    await flushPromises();

    const conflict = wrapper.get('[data-testid="conflict-view"]');
    expect(conflict.get('[data-testid="conflict-mine"]').text()).toContain('my text');
    expect(conflict.get('[data-testid="conflict-theirs"]').text()).toContain('their text');
    expect(JSON.parse((fetchMock.mock.calls[0]?.[1] as RequestInit).body as string).version).toBe(1);

    await conflict.get('[data-testid="conflict-overwrite"]').trigger('click');
    await flushPromises();

    expect(JSON.parse((fetchMock.mock.calls[1]?.[1] as RequestInit).body as string)).toEqual({
      title: 'Plan (mine)',
      content: 'my text',
      version: 2,
    });
    expect(wrapper.find('[data-testid="conflict-view"]').exists()).toBe(false);
    expect(useNotes().findNote('n1')?.version).toBe(3);
    wrapper.unmount();
  });

  it('shows a notice when a newer version arrives', async () => {
    const note = makeNote('n1', 'Plan', 1);
    const wrapper = mount(NoteCard, { props: { note, own: true, readOnlyReason: null } });
    await wrapper.get('[data-testid="edit-note"]').trigger('click');
    expect(wrapper.find('[data-testid="edit-notice"]').exists()).toBe(false);

    await wrapper.setProps({ note: { ...note, title: 'Plan v2', version: 2 } });
    expect(wrapper.find('[data-testid="edit-notice"]').exists()).toBe(true);
    wrapper.unmount();
  });

  it('delete needs confirmation', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, { message: 'deleted' }));
    vi.stubGlobal('fetch', fetchMock);
    const wrapper = mount(NoteCard, { props: { note: makeNote('n1', 'Plan', 1), own: true, readOnlyReason: null } });

    await wrapper.get('[data-testid="delete-note"]').trigger('click');
    expect(fetchMock).not.toHaveBeenCalled();
    await wrapper.get('[data-testid="cancel-delete"]').trigger('click');
    expect(wrapper.find('[data-testid="confirm-delete"]').exists()).toBe(false);

    await wrapper.get('[data-testid="delete-note"]').trigger('click');
    await wrapper.get('[data-testid="confirm-delete"]').trigger('click');
    await flushPromises();
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect((fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1].method).toBe('DELETE');
    wrapper.unmount();
  });

  it('disables writes with a reason', () => {
    const wrapper = mount(NoteCard, {
      props: { note: makeNote('n1', 'Plan', 1), own: true, readOnlyReason: 'Offline' },
    });
    expect(wrapper.get('[data-testid="edit-note"]').attributes('disabled')).toBeDefined();
    expect(wrapper.get('[data-testid="delete-note"]').attributes('aria-describedby')).toBe('read-only-reason');
    wrapper.unmount();
  });
});
