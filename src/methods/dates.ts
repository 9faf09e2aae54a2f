import { invalidParam } from '../errors.js';

/**
 * An optional expiry param: undefined stays undefined (keep what is there),
 * null means none, and a time must lie in the future (a token that expires
 * before it is handed out is a mistake, not a request).
 */
export function futureDate(value: string | null | undefined, path: string): Date | null | undefined {
  if (value === undefined || value === null) return value;
  const date = new Date(value);
  // The schema's date-time format admits what Date cannot read (a leap second, 23:59:60).
  if (Number.isNaN(date.getTime())) {
    throw invalidParam(path, 'must be a date-time this service can read');
  }
  if (date.getTime() <= Date.now()) {
    throw invalidParam(path, 'must be a time in the future');
  }
  return date;
}
