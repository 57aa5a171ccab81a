import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describeVerification, fetchAudit, verifyFile, writeDocument, type RemoteOptions } from './audit.ts';
import { ingestPaths } from './ingest.ts';
import { addUser } from './users.ts';
import { exportCommand } from './export.ts';
import { loadConfig } from '../config.ts';
import { ROLES } from '../contract/identity.ts';
import { runAll, runApi, runDatabase, runWorker } from '../roles/processes.ts';

const program = new Command('lantern')
  .description('Lantern: AI clinical decision support and imaging triage');

program.command('start').description('run everything on this machine (private redis unless REDIS_URL, PGlite unless DATABASE_URL, API, workers)').action(runAll);
program.command('api').description('run the API role (needs REDIS_URL; DATABASE_URL for a shared PostgreSQL)').action(runApi);
program.command('db').description('serve the embedded PGlite database to the other roles (what `lantern start` runs when DATABASE_URL is unset)')
  .option('--port <port>', 'loopback port (default: a free one; `lantern start` passes the old one when it restarts the server)')
  .action(runDatabase);
program.command('worker').description('run one worker process (needs REDIS_URL and the shared LANTERN_BLOB_DIR)').action(runWorker);
program.command('ingest')
  .description('upload DICOM files or folders to a running Lantern through STOW-RS')
  .argument('<paths...>', 'files or folders')
  .option('--url <url>', 'Lantern base URL', process.env.LANTERN_URL ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'an API token of a user who may send images (default: LANTERN_TOKEN; POST /v1/tokens makes one)', process.env.LANTERN_TOKEN)
  .action(async (paths: string[], options: { url: string; token?: string }) => {
    const reports = await ingestPaths(options.url, options.token, paths, (report, done, total) => {
      console.log(`[${done}/${total}] ${report.status.padEnd(9)} ${report.file}  ${report.detail}`);
    });
    const rejected = reports.filter((r) => r.status === 'rejected').length;
    console.log(`${reports.length - rejected} accepted, ${rejected} rejected`);
    process.exitCode = rejected > 0 ? 1 : 0;
  });

program.command('user-add')
  .description('create a local account (reads the password from stdin); with the embedded database, run it while Lantern is stopped')
  .argument('<username>')
  .requiredOption('--roles <roles>', `comma-separated: ${ROLES.join(', ')}`)
  .option('--sites <sites>', 'comma-separated site ids the user acts for; the first is where what it sends in is filed (default: main)')
  .option('--display-name <name>', 'the name the viewer shows (default: the user name)')
  .action((username: string, options: { roles: string; sites?: string; displayName?: string }) => addUser(username, options));

const audit = program.command('audit').description('export, bundle and verify the signed audit trail');
const remote = (command: Command) => command
  .option('--url <url>', 'Lantern base URL', process.env.LANTERN_URL ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'an admin\'s API token (default: LANTERN_TOKEN)', process.env.LANTERN_TOKEN);
remote(audit.command('export'))
  .description('save a segment of the chain with the signed heads covering it (verifiable offline)')
  .option('--from <seq>', 'first record', '1')
  .option('--to <seq>', 'last record (default: the head)')
  .option('--out <file>', 'where to write it (default: audit-segment-<from>-<to>.json)')
  .action(async (options: RemoteOptions & { from: string; to?: string; out?: string }) => {
    const query = new URLSearchParams({ from: options.from, ...(options.to ? { to: options.to } : {}) });
    const segment = await fetchAudit(options, `/v1/audit/export?${query}`) as { from: number; to: number; records: unknown[] };
    const file = writeDocument(options.out ?? `audit-segment-${segment.from}-${segment.to}.json`, segment);
    console.log(`${file}: records ${segment.from}–${segment.to} (${segment.records.length})`);
  });
remote(audit.command('bundle'))
  .description('save a study\'s accountability bundle: images\' SHA-256, findings, decisions, audit records, signed head')
  .argument('<studyInstanceUid>')
  .option('--out <file>', 'where to write it (default: bundle-<studyInstanceUid>.json)')
  .action(async (studyUid: string, options: RemoteOptions & { out?: string }) => {
    const bundle = await fetchAudit(options, `/v1/audit/bundle/${encodeURIComponent(studyUid)}`) as { body: { audit: unknown[] } };
    const file = writeDocument(options.out ?? `bundle-${studyUid}.json`, bundle);
    console.log(`${file}: ${bundle.body.audit.length} audit records`);
  });
remote(audit.command('checkpoint'))
  .description('sign the chain\'s head now and append it to the checkpoint file')
  .action(async (options: RemoteOptions) => console.log(JSON.stringify(await fetchAudit(options, '/v1/audit/checkpoint', 'POST'))));
audit.command('verify')
  .description('verify an exported segment or a bundle offline (no database, no network), or also against the chain\'s witness')
  .argument('<file>')
  .option('--key <file>', 'the trusted public key (default: LANTERN_AUDIT_KEY + ".pub" when it exists)')
  .option('--witness <url>', 'also compare with the heads this witness (another Lantern) received for the key; export the segment to the head')
  .option('--witness-token <token>', 'an API token at the witness of an admin or an audit-witness account (default: LANTERN_AUDIT_WITNESS_TOKEN)')
  .action(async (file: string, options: { key?: string; witness?: string; witnessToken?: string }) => {
    const config = loadConfig();
    const fallback = `${config.auditKeyFile ?? path.join(config.dataDir, 'audit', 'signing-key.pem')}.pub`;
    const token = options.witnessToken ?? config.auditWitness?.token;
    if (options.witness && !token) throw new Error('--witness needs --witness-token (or LANTERN_AUDIT_WITNESS_TOKEN)');
    const witness = options.witness && token ? { url: options.witness, token } : undefined;
    const result = await verifyFile(file, options.key ?? (fs.existsSync(fallback) ? fallback : undefined), witness);
    for (const line of describeVerification(file, result)) console.log(line);
    process.exitCode = result.ok ? 0 : 1;
  });

program.addCommand(exportCommand());

try {
  await program.parseAsync();
} catch (error) {
  // Refusals at start (a model breaking its contract, no redis-server) are for a person to read, not a stack trace.
  console.error(`lantern: ${(error as Error).message}`);
  process.exit(1);
}
