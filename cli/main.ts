import { Command } from 'commander';
import { ingestPaths } from './ingest.ts';
import { runAll, runApi, runDatabase, runWorker } from '../roles/processes.ts';

const program = new Command('lantern')
  .description('Lantern: AI clinical decision support and imaging triage');

program.command('start').description('run everything on this machine (private redis unless REDIS_URL, PGlite unless DATABASE_URL, API, workers)').action(runAll);
program.command('api').description('run the API role (needs REDIS_URL; DATABASE_URL for a shared PostgreSQL)').action(runApi);
program.command('db').description('serve the embedded PGlite database to the other roles (what `lantern start` runs when DATABASE_URL is unset)').action(runDatabase);
program.command('worker').description('run one worker process (needs REDIS_URL and the shared LANTERN_BLOB_DIR)').action(runWorker);
program.command('ingest')
  .description('upload DICOM files or folders to a running Lantern through STOW-RS')
  .argument('<paths...>', 'files or folders')
  .option('--url <url>', 'Lantern base URL', process.env.LANTERN_URL ?? 'http://127.0.0.1:8080')
  .action(async (paths: string[], options: { url: string }) => {
    const reports = await ingestPaths(options.url, paths, (report, done, total) => {
      console.log(`[${done}/${total}] ${report.status.padEnd(9)} ${report.file}  ${report.detail}`);
    });
    const rejected = reports.filter((r) => r.status === 'rejected').length;
    console.log(`${reports.length - rejected} accepted, ${rejected} rejected`);
    process.exitCode = rejected > 0 ? 1 : 0;
  });

try {
  await program.parseAsync();
} catch (error) {
  // Refusals at start (a model breaking its contract, no redis-server) are for a person to read, not a stack trace.
  console.error(`lantern: ${(error as Error).message}`);
  process.exit(1);
}
