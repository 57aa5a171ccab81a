import { describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from './prometheus-text.ts';

const histogram = `# HELP h_seconds Time.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1",route="/a"} 1
h_seconds_bucket{le="+Inf",route="/a"} 2
h_seconds_sum{route="/a"} 0.3
h_seconds_count{route="/a"} 2
`;

describe('the strict Prometheus text parser used by the /metrics tests', () => {
  it('when the exposition is well formed, then families, labels (escapes undone) and a labelled histogram\'s count are read', () => {
    const families = parseExposition(`${histogram}# TYPE c_total counter\nc_total{path="a\\"b\\\\c"} 3\n`);
    expect(families.get('h_seconds')!.type).toBe('histogram');
    expect(valueOf(families, 'h_seconds_count', { route: '/a' })).toBe(2);
    expect(valueOf(families, 'c_total', { path: 'a"b\\c' })).toBe(3);
  });

  it.each([
    ['a family declared twice', `${histogram}# TYPE h_seconds histogram\n`],
    ['a family split by another', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
    ['a series repeated', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['a space after a label\'s comma', 'a{x="1", y="2"} 1\n'],
    ['an unterminated label', 'a{x="1} 1\n'],
    ['text after the timestamp', 'a 1 2 3\n'],
    ['a value that is not a number', 'a one\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 1\n'],
    ['a _count other than the +Inf bucket', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 1\nh_sum 1\n'],
    ['a negative counter', '# TYPE c_total counter\nc_total -1\n'],
  ])('when the exposition has %s, then it is refused', (_what, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});
