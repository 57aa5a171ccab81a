/** What the parts of the worklist share while it is mounted; each part takes it explicitly. */
import type { WorklistFilters, WorklistItem } from '../api.ts';

export interface WorklistState {
  /** As in the URL hash. */
  filters: WorklistFilters;
  /** As the server last listed them, in its order. */
  items: WorklistItem[];
  /** Offered in the modality filter: the common ones, then every one seen since mounting. */
  readonly seenModalities: Set<string>;
  /** Site names by id, for a reader of several sites (each row then says whose study it is); absent for one site. */
  siteNames?: Map<string, string>;
  /** Set on unmount: answers arriving later must not touch the DOM. */
  stopped: boolean;
}
