import type { ErrorField } from './api/types';
import { characterCount, utf8Length } from './format';

// The server's limits, from the `notes-core` crate. The server checks them
// again, so these checks only save a round trip and show the error sooner.
export const USERNAME_MAX_CHARS = 64;
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 71;
export const TITLE_MAX_CHARS = 200;
export const CONTENT_MAX_CHARS = 100_000;

export type FieldErrors = Partial<Record<ErrorField, string>>;

// A loose check: the server's parser is the authority on email syntax. Like
// the server, it asks for a dot in the domain.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export function validateNote(title: string, content: string): FieldErrors {
  const errors: FieldErrors = {};
  const titleLength = characterCount(title.trim());
  if (titleLength === 0) errors.title = 'Title is required.';
  else if (titleLength > TITLE_MAX_CHARS) {
    errors.title = `Title must be at most ${TITLE_MAX_CHARS} characters, got ${titleLength}.`;
  }

  const contentLength = characterCount(content);
  if (contentLength > CONTENT_MAX_CHARS) {
    errors.content = `Content must be at most ${CONTENT_MAX_CHARS.toLocaleString('en')} characters, got ${contentLength.toLocaleString('en')}.`;
  }
  return errors;
}

export function validateCredentials(
  mode: 'login' | 'register',
  username: string,
  email: string,
  password: string,
): FieldErrors {
  const errors: FieldErrors = {};

  if (mode === 'register') {
    const usernameLength = characterCount(username.trim());
    if (usernameLength === 0) errors.username = 'Username is required.';
    else if (usernameLength > USERNAME_MAX_CHARS) {
      errors.username = `Username must be at most ${USERNAME_MAX_CHARS} characters, got ${usernameLength}.`;
    }
  }

  const trimmedEmail = email.trim();
  if (trimmedEmail === '') errors.email = 'Email is required.';
  else if (!EMAIL_PATTERN.test(trimmedEmail)) errors.email = 'Enter an email address such as name@example.com.';

  const passwordBytes = utf8Length(password);
  if (password === '') errors.password = 'Password is required.';
  else if (mode === 'register' && passwordBytes < PASSWORD_MIN_BYTES) {
    errors.password = `Password must be at least ${PASSWORD_MIN_BYTES} bytes long (${PASSWORD_MIN_BYTES} plain letters or digits).`;
  } else if (passwordBytes > PASSWORD_MAX_BYTES) {
    errors.password = `Password must be at most ${PASSWORD_MAX_BYTES} bytes, got ${passwordBytes}.`;
  }
  return errors;
}

export function hasErrors(errors: FieldErrors): boolean {
  return Object.keys(errors).length > 0;
}
