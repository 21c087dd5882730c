import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const stack = globalThis.__kotoStack;
  if (!stack) return;
  await Promise.allSettled([stack.temporal.stop(), stack.pg.stop()]);
  rmSync(stack.dir, { recursive: true, force: true });
}
