/**
 * The part of XMLHttpRequest that the `dicomweb-client` package (OHIF's DICOMweb client) uses,
 * carried by Node's fetch, so the real client runs in a Node test: pass one per call as
 * `request: { instance: fetchXhr() }`. Only transport: the client builds its requests (the
 * multipart body, the headers) and reads the answers exactly as it does in a browser.
 */
export class FetchXhr {
  readyState = 0;
  status = 0;
  responseType: '' | 'arraybuffer' | 'json' | 'text' = '';
  response: unknown = null;
  withCredentials = false;
  onreadystatechange: (() => void) | null = null;
  onloadstart: (() => void) | null = null;
  onloadend: (() => void) | null = null;
  onprogress: ((event: unknown) => void) | null = null;
  private method = 'GET';
  private url = '';
  private readonly headers = new Headers();
  private responseHeaders = new Headers();

  open(method: string, url: string): void {
    this.method = method.toUpperCase();
    this.url = url;
    this.readyState = 1;
  }

  setRequestHeader(name: string, value: string): void {
    this.headers.set(name, value);
  }

  getResponseHeader(name: string): string | null {
    return this.responseHeaders.get(name);
  }

  getAllResponseHeaders(): string {
    let all = '';
    this.responseHeaders.forEach((value, name) => { all += `${name}: ${value}\r\n`; });
    return all;
  }

  send(body?: ArrayBuffer | string): void {
    this.onloadstart?.();
    void fetch(this.url, { method: this.method, headers: this.headers, body: body as BodyInit | undefined })
      .then(async (answer) => {
        this.status = answer.status;
        this.responseHeaders = answer.headers;
        const bytes = await answer.arrayBuffer();
        const text = () => new TextDecoder().decode(bytes);
        // As a browser's XHR: an unparsable JSON answer is a null response, not an error.
        this.response = this.responseType === 'arraybuffer' ? bytes : this.responseType === 'json' ? parseOrNull(text()) : text();
      }, () => {
        this.status = 0;
      })
      .finally(() => {
        this.readyState = 4;
        this.onreadystatechange?.();
        this.onloadend?.();
      });
  }
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const fetchXhr = () => new FetchXhr() as unknown as XMLHttpRequest;
