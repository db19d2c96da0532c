import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, request, setUnauthorizedHandler } from './http';
import { makeNote } from '../test/notes';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

afterEach(() => {
  setUnauthorizedHandler(null);
  vi.unstubAllGlobals();
});

describe('request', () => {
  it('sends JSON with the session cookie', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(201, { id: 'n1' }));
    vi.stubGlobal('fetch', fetchMock);

    const result = await request<{ id: string }>('/api/notes', { method: 'POST', body: { title: 'A', content: '' } });

    expect(result).toEqual({ id: 'n1' });
    const [path, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe('/api/notes');
    expect(init.credentials).toBe('same-origin');
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"title":"A","content":""}');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('builds ApiError from the error body', async () => {
    const current = makeNote('n1', 'Stored', 1, { version: 4 });
    vi.stubGlobal('fetch', async () =>
      jsonResponse(409, { error: { code: 'version_conflict', message: 'changed', current } }),
    );

    const error = await request('/api/notes/n1', { method: 'PUT', body: {} }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(409);
    expect(apiError.code).toBe('version_conflict');
    expect(apiError.message).toBe('changed');
    expect(apiError.current).toEqual(current);
  });

  it('keeps the field of a validation error', async () => {
    vi.stubGlobal('fetch', async () =>
      jsonResponse(400, { error: { code: 'validation_failed', message: 'title is required', field: 'title' } }),
    );
    const error = (await request('/api/notes').catch((caught: unknown) => caught)) as ApiError;
    expect(error.code).toBe('validation_failed');
    expect(error.field).toBe('title');
  });

  it('reports a 401 only when a session is required', async () => {
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    vi.stubGlobal('fetch', async () => jsonResponse(401, { error: { code: 'unauthorized', message: 'sign in' } }));

    await request('/api/login', { method: 'POST', body: {}, sessionRequired: false }).catch(() => undefined);
    expect(handler).not.toHaveBeenCalled();

    await request('/api/notes').catch(() => undefined);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('maps network failure and bad bodies', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    const network = (await request('/api/notes').catch((caught: unknown) => caught)) as ApiError;
    expect(network.status).toBe(0);
    expect(network.code).toBe('network_error');

    vi.stubGlobal('fetch', async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const gateway = (await request('/api/notes').catch((caught: unknown) => caught)) as ApiError;
    expect(gateway.status).toBe(502);
    expect(gateway.code).toBe('invalid_response');
  });
});
