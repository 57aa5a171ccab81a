// Entry of the parsing thread: TypeScript sources need tsx registered in every thread.
import { register } from 'tsx/esm/api';

register();
await import('./thread-body.ts');
