/**
 * Sites and the scope they give a user's reads and writes. A study outside the caller's
 * sites is reported as not existing (NotFoundError, 404), never as forbidden: that a study
 * exists at another clinic is itself patient information.
 */
import type { Site } from '../contract/sites.ts';
import { appendAudit, auditedTransaction } from './audit.ts';
import type { Queryable } from './db.ts';
import { InvalidReferenceError, NotFoundError, optional, type StoreContext } from './shared.ts';

/**
 * The sites whose studies a caller may see and change: the authenticated user's `sites`, or
 * `ALL_SITES` for Lantern's own parts (workers, reconciliation, the audit bundle CLI).
 */
export type SiteScope = readonly string[] | typeof ALL_SITES;
export const ALL_SITES = 'all-sites';

/** The scope as a query parameter: `$n::text[] is null or site_id = any($n)`. */
export const sitesParam = (scope: SiteScope): readonly string[] | null => (scope === ALL_SITES ? null : scope);

interface SiteRow {
  id: string;
  name: string;
  level: Site['level'];
  parent_id: string | null;
}

const siteFromRow = (row: SiteRow): Site => ({ id: row.id, name: row.name, level: row.level, parentId: optional(row.parent_id) });

/** Throws NotFoundError unless the study exists within `scope`: how a write refuses a study of another site. */
export async function requireStudyInScope(db: Queryable, studyInstanceUid: string, scope: SiteScope): Promise<void> {
  const { rows } = await db.query('select 1 from studies where study_instance_uid = $1 and ($2::text[] is null or site_id = any($2))', [studyInstanceUid, sitesParam(scope)]);
  if (rows.length === 0) throw new NotFoundError(`study ${studyInstanceUid} does not exist`);
}

/** Refuses (InvalidReferenceError on `field`) a list naming a site that does not exist. */
export async function requireSites(db: Queryable, sites: readonly string[], field = 'sites'): Promise<void> {
  const { rows } = await db.query<{ id: string }>('select id from sites where id = any($1)', [sites]);
  const unknown = sites.filter((id) => !rows.some((r) => r.id === id));
  if (unknown.length > 0) throw new InvalidReferenceError(field, `no such site: ${unknown.join(', ')}`);
}

/** The site reads and writes, each given the store's context first (bindContext). */
export const siteAccess = {
  /** The site a study belongs to, or undefined for a study not (yet) stored. */
  async studySite({ db }: StoreContext, studyInstanceUid: string): Promise<string | undefined> {
    const { rows: [row] } = await db.query<{ site_id: string }>('select site_id from studies where study_instance_uid = $1', [studyInstanceUid]);
    return row?.site_id;
  },

  async listSites({ db }: StoreContext): Promise<Site[]> {
    const { rows } = await db.query<SiteRow>('select * from sites order by id');
    return rows.map(siteFromRow);
  },

  /**
   * Contract: one transaction; the site row and `site.created` (actor = the admin). A taken
   * id → false, nothing written; an unknown parent → InvalidReferenceError.
   */
  async createSite({ db }: StoreContext, site: Site, actor: string): Promise<boolean> {
    return auditedTransaction(db, async (tx) => {
      if (site.parentId) await requireSites(tx, [site.parentId], 'parentId');
      const inserted = await tx.query('insert into sites (id, name, level, parent_id) values ($1, $2, $3, $4) on conflict do nothing returning id',
        [site.id, site.name, site.level, site.parentId ?? null]);
      if (inserted.rows.length === 0) return false;
      await appendAudit(tx, { actor, action: 'site.created', entityType: 'site', entityId: site.id, payload: { name: site.name, level: site.level, parentId: site.parentId ?? null } });
      return true;
    });
  },
};
