/**
 * The arms of an A/B run from its command line: the first is the default environment; each
 * further argument is `name:KEY=VALUE,KEY=VALUE`, the environment that arm's stack adds.
 */
export function armsFromArgs(specs: string[]): [string, Record<string, string>][] {
  return [['default', {}], ...specs.map((spec): [string, Record<string, string>] => {
    const [name, pairs = ''] = spec.split(/:(.*)/s);
    return [name, Object.fromEntries(pairs.split(',').filter(Boolean).map((pair) => pair.split(/=(.*)/s).slice(0, 2)))];
  })];
}
