/**
 * `run` once, `ms` after the last call of a burst: live events arrive in bursts (one per
 * instance, per finding) and a screen should re-fetch once for all of them.
 * `cancel()` drops a pending run (a screen being unmounted).
 */
export function debounced(run: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = () => {
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
  return Object.assign(call, { cancel: () => clearTimeout(timer) });
}
