import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from './config.ts';

/**
 * Structured logs to stderr. No PHI in logs: never log names, patient IDs or dates;
 * log DICOM UIDs only through `uidHash`.
 */
export const logger = pino({ level: loadConfig().logLevel, base: { pid: process.pid } }, pino.destination(2));

export const uidHash = (uid: string) => createHash('sha256').update(uid).digest('hex').slice(0, 12);
