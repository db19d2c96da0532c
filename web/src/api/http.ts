import type { ErrorBody, ErrorCode, ErrorField, Note } from './types';

/**
 * A failed API call. Server errors carry the `code`, `message`, `field` and
 * `current` of the server's error body. Failures without a server error body
 * use the codes `network_error` (status 0) and `invalid_response`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'network_error' | 'invalid_response' | string;
  readonly field?: ErrorField;
  readonly current?: Note;

  constructor(status: number, code: string, message: string, field?: ErrorField, current?: Note) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.current = current;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /**
   * Whether a 401 response means that the current session ended. Sign-in and
   * the session check on page load set this to false, because a 401 there is
   * the expected response for a visitor who is not signed in.
   */
  sessionRequired?: boolean;
}

type UnauthorizedHandler = () => void;
let unauthorizedHandler: UnauthorizedHandler | null = null;

/** Registers the function that runs when a request that needs a session gets a 401. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  unauthorizedHandler = handler;
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorFromResponse(response: Response, body: unknown): ApiError {
  if (isErrorBody(body)) {
    const { code, message, field, current } = body.error;
    return new ApiError(response.status, code, message, field, current);
  }
  // A proxy or a crashed server can respond without the JSON error body.
  const message = `The server responded with ${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status, response.status === 401 ? 'unauthorized' : 'invalid_response', message);
}

/**
 * Sends a JSON request to the notes server and returns the parsed JSON body.
 * Throws `ApiError` for a non-2xx status, an unreadable body or a network failure.
 * The session cookie authenticates the request, so no token is read or stored here.
 */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = 'GET', body, sessionRequired = true } = options;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check the connection and try again.');
  }

  const parsed = await readJson(response);

  if (!response.ok) {
    const error = errorFromResponse(response, parsed);
    if (response.status === 401 && sessionRequired && unauthorizedHandler) unauthorizedHandler();
    throw error;
  }

  if (parsed === undefined) {
    throw new ApiError(response.status, 'invalid_response', `Expected a JSON body from ${method} ${path}, got none.`);
  }
  return parsed as T;
}
