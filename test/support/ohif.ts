import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ensureOhifBuild, ohifDist } from '../../scripts/ensure-deps.mjs';

export interface OhifSite {
  /** The one origin the browser sees: OHIF's pages, and Lantern's DICOMweb under /dicomweb. */
  url: string;
  /** DICOMweb requests the page made, with Lantern's status (for failure messages and checks). */
  requests: { path: string; status: number }[];
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
};

/**
 * OHIF's only data source: Lantern's DICOMweb, at this origin. The options are the ones
 * OHIF's own DICOMweb examples use for a full QIDO/WADO-RS server (no static WADO, no fuzzy
 * matching), rendering by WADO-RS frames and thumbnails by WADO-RS too.
 */
function appConfig(origin: string): string {
  const root = `${origin}/dicomweb`;
  return `window.config = ${JSON.stringify({
    routerBasename: '/',
    extensions: [],
    modes: [],
    showStudyList: true,
    maxNumberOfWebWorkers: 1,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: false,
    showLoadingIndicator: true,
    investigationalUseDialog: { option: 'never' },
    showErrorDetails: 'always',
    defaultDataSourceName: 'lantern',
    dataSources: [{
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'lantern',
      configuration: {
        friendlyName: 'Lantern',
        name: 'lantern',
        wadoUriRoot: root,
        qidoRoot: root,
        wadoRoot: root,
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        staticWado: false,
        singlepart: 'bulkdata,video',
        bulkDataURI: { enabled: true, relativeResolution: 'studies' },
        omitQuotationForMultipartRequest: true,
      },
    }],
  })};\n`;
}

/**
 * OHIF's published build (from the npm registry, scripts/ensure-deps.mjs) served on a free
 * loopback port, with `/dicomweb/*` forwarded to the DICOMweb root `dicomweb.url` (Lantern's
 * `…/dicomweb`) carrying its bearer token: what a deployment does with one reverse proxy in
 * front of both, so the page is same-origin with its data (Lantern answers no cross-origin
 * page) and the browser never holds the token. Read-only: OHIF's study list and viewer GET.
 */
export async function serveOhif(dicomweb: { url: string; token?: string }): Promise<OhifSite> {
  ensureOhifBuild();
  const requests: OhifSite['requests'] = [];
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname.startsWith('/dicomweb/')) {
      if (req.method !== 'GET') res.writeHead(405).end();
      else void forward(req, res, url);
      return;
    }
    if (url.pathname === '/app-config.js') {
      res.writeHead(200, { 'content-type': TYPES['.js'] }).end(appConfig(origin));
      return;
    }
    // A path inside the build is a file; anything else is one of OHIF's client-side routes.
    const file = path.join(ohifDist, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
    const target = file.startsWith(ohifDist) && fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(ohifDist, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream' });
    fs.createReadStream(target).pipe(res);
  });

  const forward = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    try {
      const headers = new Headers(dicomweb.token ? { authorization: `Bearer ${dicomweb.token}` } : {});
      if (req.headers.accept) headers.set('accept', req.headers.accept);
      const answer = await fetch(dicomweb.url.replace(/\/$/, '') + url.pathname.slice('/dicomweb'.length) + url.search, { headers });
      requests.push({ path: url.pathname + url.search, status: answer.status });
      // fetch has already undone any content-encoding, so the length is not passed on.
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' });
      if (answer.body) Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream).pipe(res);
      else res.end();
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  return {
    url: origin,
    requests,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
