/** Orders semantic versions `x.y.z` (negative: a before b); the registry's "latest" and the fact catalogue agree through it. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}
