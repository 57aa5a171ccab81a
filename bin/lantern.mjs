#!/usr/bin/env node
// The package's bin: registers tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

// Everything Lantern writes (database, queue, stored DICOM, keys) is for its own user alone:
// folders 0700, files 0600, in every role and in the redis-server it starts.
process.umask(0o077);

register();
await import('../cli/main.ts');
