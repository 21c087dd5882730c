import type { IncomingMessage, ServerResponse } from 'node:http';
import { loggedPath, requestIdOf } from './request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function exchange(header?: string) {
  const headers: Record<string, string> = {};
  const req = { headers: header === undefined ? {} : { 'x-request-id': header } } as unknown as IncomingMessage;
  const res = { headersSent: false, setHeader: (k: string, v: string) => (headers[k] = v) } as unknown as ServerResponse;
  return { req, res, headers };
}

describe('request ids and the request log', () => {
  it('are made by the server unless the client sent a UUID without an individual number', () => {
    const clean = '0f8fad5b-d9cb-469f-a165-70867728950e';
    for (const [given, kept] of [[undefined, false], ['', false], ['abc', false], [`id-102938475617`, false], ['3f2a9c1e-4b1d-4c2e-8a3b-102938475617', false], [clean, true], [clean.toUpperCase(), true]] as const) {
      const { req, res, headers } = exchange(given);
      const id = requestIdOf(req, res);
      expect(id).toMatch(UUID);
      expect({ given, kept: id === given?.toLowerCase() }).toEqual({ given, kept });
      expect(headers['X-Request-Id']).toBe(id);
      // Assigned once: later calls (pino, the error filter) get the same id.
      expect(requestIdOf(req, res)).toBe(id);
    }
  });

  it('never logs a query, nor a path holding an individual number in any spelling', () => {
    expect(loggedPath('/api/cards/K0001?nameKana=%E3%82%A2')).toBe('/api/cards/K0001');
    for (const url of ['/api/cards/102938475617', '/api/cards/1029%E2%80%8B3847%E2%80%8B5617/history', '/cards/1029.3847.5617']) expect(loggedPath(url)).not.toMatch(/1029|5617/);
    expect(loggedPath('/api/cards/%E0%A4%A')).toBe('/api/cards/%E0%A4%A');
  });
});
