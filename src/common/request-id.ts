/**
 * Request ids: the server makes them; a client's `X-Request-Id` is kept only when it is a UUID that
 * holds no individual number, so that nothing a client chooses reaches the logs or the access log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { containsMyNumber, safeRandomUUID } from './my-number.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The request's id, assigned once (on the first call) and sent back as `X-Request-Id`. */
export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  if (typeof req.id === 'string' && req.id !== '') return req.id;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && UUID.test(given) && !containsMyNumber(given) ? given.toLowerCase() : safeRandomUUID();
  req.id = id;
  if (!res.headersSent) res.setHeader('X-Request-Id', id);
  return id;
}

/** A request's path as the request log writes it: never the query, never a path holding an individual number (such a request is refused). */
export function loggedPath(url: string): string {
  const path = url.split('?')[0];
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // checked as received
  }
  return containsMyNumber(decoded) ? '(a path holding an individual number; not logged)' : path;
}
