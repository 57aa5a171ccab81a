import type { Authenticated } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';

/**
 * What a `?site=` filter (contract siteFilter) may name. A list of patients (worklist, research
 * list) shows only sites in the caller's scope; a site outside it is refused rather than
 * answered with an empty list, so a mistyped or no-longer-read site is told apart from a quiet one.
 */
const refused = (outside: readonly string[], why: string) =>
  new ApiError(422, 'VALIDATION_FAILED', 'the request is invalid', [{ field: 'site', message: `${why}: ${outside.join(', ')}` }]);

/** The sites a patient list covers: those named, each in the caller's scope, or the whole scope. */
export function sitesInScope(auth: Authenticated, named: readonly string[] | undefined): readonly string[] {
  if (!named) return auth.scope;
  const outside = named.filter((id) => !auth.scope.includes(id));
  if (outside.length > 0) throw refused(outside, 'not a site you read (your own sites and those they read for)');
  return named;
}

/** The sites a network-wide count covers (the agreement dashboard): those named, each one that exists, or all (undefined). */
export async function knownSites(deps: Pick<ApiDeps, 'store'>, named: readonly string[] | undefined): Promise<readonly string[] | undefined> {
  if (!named) return undefined;
  const sites = await deps.store.listSites();
  const unknown = named.filter((id) => !sites.some((s) => s.id === id));
  if (unknown.length > 0) throw refused(unknown, 'no such site');
  return named;
}
