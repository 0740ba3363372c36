/**
 * The gateway counts in fixed windows aligned to the epoch (pipeline/rate-limit.ts). A test
 * that makes a few requests and expects them in one window waits, when the current window has
 * less than `roomMs` left, for the next one to begin: its counts cannot then be split by a
 * window ending midway, however slowly the machine runs it (within `roomMs`).
 */
export async function awaitWindowRoom(windowS: number, roomMs = Math.min(5_000, (windowS * 1000) / 2)): Promise<void> {
  const windowMs = windowS * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left >= roomMs) return;
  await new Promise((resolve) => setTimeout(resolve, left + 20));
}

/** Waits for the next window to begin (for a short window a test wants whole). */
export async function awaitNextWindow(windowS: number): Promise<void> {
  const windowMs = windowS * 1000;
  await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 20));
}
