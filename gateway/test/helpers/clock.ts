/** The pinned clock every gateway test mints and verifies against (ms since the epoch). */
export const NOW_MS = Date.UTC(2026, 10, 24, 12, 0, 0);
export const NOW_S = Math.floor(NOW_MS / 1000);

/** A clock a test can move: `clock.now()` for the gateway, `clock.advance(ms)` in the test. */
export function movableClock(start = NOW_MS) {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
    nowS: () => Math.floor(current / 1000),
  };
}
