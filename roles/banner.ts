/** What `lantern start` knows once everything is up: the facts its banner states. */
export interface StartFacts {
  apiUrl: string;
  /** The private redis-server it runs (absent when REDIS_URL names one): its URL and the 0600 file its password lives in. */
  privateRedis?: { url: string; passwordFile: string; dir: string };
  /** The folder of the private PGlite server (absent when DATABASE_URL names a database). */
  privateDatabaseDir?: string;
  workers: number;
  failedWorkers: number;
  /** The DIMSE SCP, when configured (LANTERN_DIMSE_PORT). */
  dimse?: { host: string; port: number; aeTitle: string };
  /** The first admin's password file, while it exists. */
  firstAdminPasswordFile?: string;
}

/**
 * A server's URL as printed: without its password. A banner ends up in terminals'
 * scrollback, journald and screen shares; the password stays in its 0600 file, which the
 * banner names instead.
 */
export function printableUrl(url: string): string {
  const printable = new URL(url);
  printable.password = '';
  return printable.toString().replace(/\/$/, '');
}

/** The lines `lantern start` prints when it is ready (tests find the API's URL after "open "). */
export function startBanner(facts: StartFacts): string {
  const redis = facts.privateRedis;
  return `\nLantern is running: open ${facts.apiUrl}` +
    `\n  redis ${redis ? `${printableUrl(redis.url)} (private; password in ${redis.passwordFile}; AOF under ${redis.dir})` : '(REDIS_URL)'}` +
    `\n  database ${facts.privateDatabaseDir ? `PGlite under ${facts.privateDatabaseDir} (private server process)` : '(DATABASE_URL)'}` +
    (facts.dimse ? `\n  DIMSE SCP ${facts.dimse.aeTitle}@${facts.dimse.host}:${facts.dimse.port} (C-ECHO, C-STORE, C-FIND; only the AE titles in LANTERN_DIMSE_PEERS)` : '') +
    `\n  workers ${facts.workers}${facts.failedWorkers ? ` (${facts.failedWorkers} failed to start; restarting)` : ''}` +
    (facts.firstAdminPasswordFile ? `\n  sign in as admin with the password in ${facts.firstAdminPasswordFile}` : '') +
    '\nPress Ctrl-C to stop.\n';
}
