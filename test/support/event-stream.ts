export interface SseMessage { event?: string; data?: string; comment?: string }

/**
 * A client of `GET /v1/events` over real HTTP, reading the stream as a browser's EventSource
 * would, signed in by `headers` (a bearer token or a session cookie).
 */
export async function connectEvents(baseUrl: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const response = await fetch(new URL('/v1/events', baseUrl), { signal: controller.signal, headers: { accept: 'text/event-stream', ...headers } });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let done = false;
  const queue: SseMessage[] = [];
  /** The next message (event or comment), waiting for the stream if need be; undefined once the server has ended it. */
  async function read(timeoutMs: number): Promise<SseMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      const cut = buffer.indexOf('\n\n');
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const message: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          else if (line.startsWith('event: ')) message.event = line.slice(7);
          else if (line.startsWith('data: ')) message.data = (message.data ? `${message.data}\n` : '') + line.slice(6);
        }
        queue.push(message);
        continue;
      }
      if (done) return undefined;
      const chunk = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in time')), Math.max(0, deadline - Date.now())))]);
      if (chunk.done) done = true;
      else buffer += chunk.value;
    }
    return queue.shift()!;
  }
  /** The next message; throws if the stream ends first. */
  async function next(timeoutMs = 10_000): Promise<SseMessage> {
    const message = await read(timeoutMs);
    if (!message) throw new Error('the event stream ended');
    return message;
  }
  /** The next `study` event's data, skipping heartbeats. */
  async function nextStudyEvent(): Promise<{ studyInstanceUid: string; change: string }> {
    for (;;) {
      const message = await next();
      if (message.event === 'study') return JSON.parse(message.data!);
    }
  }
  /** Every message until the server ends the stream (which must happen within `timeoutMs`). */
  async function untilEnd(timeoutMs = 10_000): Promise<SseMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const messages: SseMessage[] = [];
    for (let message = await read(timeoutMs); message; message = await read(Math.max(0, deadline - Date.now()))) messages.push(message);
    return messages;
  }
  return { response, next, nextStudyEvent, untilEnd, close: () => controller.abort() };
}
