import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../queue/redis-server.ts';
import { waitFor } from './stack.ts';

/** Debian's `orthanc-dicomweb` plugin: Orthanc's DICOMweb server and client (1.7 on Debian 12). */
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface OrthancOptions {
  /** Orthanc's own AE title (what Lantern's SCP sees as the calling AE). */
  aet?: string;
}

/** How Orthanc reaches Lantern, as a PACS administrator would enter it. */
export interface LanternPeer {
  /** Lantern as the DICOMweb server `lantern`: its DICOMweb root and a bearer token sent on every call. */
  dicomweb?: { url: string; token: string };
  /** Lantern's DIMSE SCP as the modality `lantern`. */
  scp?: { aet: string; host: string; port: number };
}

export interface OrthancJob {
  ID: string;
  State: 'Pending' | 'Running' | 'Success' | 'Failure' | 'Paused' | 'Retry';
  ErrorCode: number;
  ErrorDescription: string;
  ErrorDetails?: string;
  Content: Record<string, unknown>;
}

export interface Orthanc {
  /** Orthanc's REST root, e.g. http://127.0.0.1:40123. */
  url: string;
  /**
   * Makes Lantern known to Orthanc: the DICOMweb server `lantern` (`HttpHeaders` carrying the
   * bearer token) and the modality `lantern`, through Orthanc's REST API — the run-time form
   * of the configuration's `DicomWeb.Servers` and `DicomModalities`, since Lantern and Orthanc
   * each need the other's address and Lantern's token exists only once Lantern runs.
   */
  knowLantern(lantern: LanternPeer): Promise<void>;
  aet: string;
  dicomPort: number;
  /** A JSON REST call; a status ≥ 400 throws with Orthanc's answer and the end of its log. */
  rest<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
  /** A REST call's raw answer (for DICOM files and anything that is not JSON). */
  raw(route: string): Promise<Uint8Array>;
  /** Stores a DICOM file in Orthanc, as a modality would (POST /instances). */
  upload(bytes: Uint8Array): Promise<{ ID: string; ParentStudy: string; ParentSeries: string; Status: string }>;
  /** Waits until an asynchronous job ends, and returns it whatever its state. */
  job(id: string): Promise<OrthancJob>;
  /** Orthanc's output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real Orthanc for one test file, as a hospital's PACS would talk to Lantern: Debian's
 * `Orthanc` binary with the DICOMweb plugin, its own configuration, free HTTP and DICOM
 * ports on loopback, and storage and index under a temp folder removed on `stop()`. It
 * accepts C-STORE from any AE and STOW-RS without authentication (loopback only). Starts in
 * well under a second here.
 */
export async function startOrthanc(options: OrthancOptions = {}): Promise<Orthanc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-orthanc-'));
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  const aet = options.aet ?? 'ORTHANC';
  const config = {
    Name: 'lantern-test-peer',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'storage'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    // Loopback only, no HTTP authentication: the test is the only client.
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpServerEnabled: true,
    Plugins: [DICOMWEB_PLUGIN],
    // Jobs and resources forgotten at stop; a test sees only what it did.
    SaveJobs: false,
    StableAge: 1,
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    DicomAlwaysAllowStore: true,
  };
  const configFile = path.join(dir, 'orthanc.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn('Orthanc', [configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => { output += chunk; });
  child.stderr!.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${httpPort}`;
  const tail = () => output.split('\n').slice(-30).join('\n');

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const request = async (method: string, route: string, body?: unknown): Promise<Response> => {
    const init: RequestInit = { method };
    if (body instanceof Uint8Array) init.body = new Uint8Array(body);
    else if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(url + route, init);
    if (response.status >= 400) throw new Error(`Orthanc ${method} ${route} answered ${response.status}: ${await response.text()}\n--- Orthanc log ---\n${tail()}`);
    return response;
  };
  const rest = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const text = await (await request(method, route, body)).text();
    return (text ? JSON.parse(text) : undefined) as T;
  };

  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}:\n${output}`);
      return fetch(`${url}/system`).then((r) => (r.ok ? true : undefined), () => undefined);
    }, 'Orthanc to answer', 15_000);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    async knowLantern(lantern) {
      if (lantern.dicomweb) {
        await rest('PUT', '/dicom-web/servers/lantern', { Url: lantern.dicomweb.url, HttpHeaders: { Authorization: `Bearer ${lantern.dicomweb.token}` } });
      }
      if (lantern.scp) await rest('PUT', '/modalities/lantern', { AET: lantern.scp.aet, Host: lantern.scp.host, Port: lantern.scp.port });
    },
    aet,
    dicomPort,
    rest,
    raw: async (route) => new Uint8Array(await (await request('GET', route)).arrayBuffer()),
    upload: (bytes) => rest('POST', '/instances', bytes),
    job: (id) => waitFor(async () => {
      const job = await rest<OrthancJob>('GET', `/jobs/${id}`);
      return job.State === 'Success' || job.State === 'Failure' ? job : undefined;
    }, `Orthanc job ${id} to end`, 60_000),
    log: () => output,
    stop,
  };
}
