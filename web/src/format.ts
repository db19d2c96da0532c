const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Formats an RFC 3339 time relative to `now`: "just now", "5 min ago", "3 h ago", "2 d ago", then the date. */
export function formatRelative(iso: string, now: number): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;

  // A small negative age comes from clock skew between server and browser.
  const age = Math.max(0, now - time);
  if (age < MINUTE_MS) return 'just now';
  if (age < HOUR_MS) return `${Math.floor(age / MINUTE_MS)} min ago`;
  if (age < DAY_MS) return `${Math.floor(age / HOUR_MS)} h ago`;
  if (age < 7 * DAY_MS) return `${Math.floor(age / DAY_MS)} d ago`;
  return new Date(time).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Formats an RFC 3339 time in full, in the browser's locale and time zone. */
export function formatExact(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return new Date(time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Counts Unicode code points, as the server counts characters. */
export function characterCount(text: string): number {
  return Array.from(text).length;
}

/** Counts UTF-8 bytes, as the server counts password length. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Capitalizes a server message and ends it with a full stop, for display as a sentence. */
export function asSentence(message: string): string {
  const trimmed = message.trim();
  if (trimmed === '') return trimmed;
  const capitalized = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}
