/**
 * Sites and the scope they give a user's reads and writes. A study outside the caller's
 * sites is reported as not existing (NotFoundError, 404), never as forbidden: that a study
 * exists at another clinic is itself patient information.
 */
import { isLevelAbove, type NewSite, type Site, type SiteChange, type SiteLevel } from '../contract/sites.ts';
import type { ConsentPurpose, WithheldCode } from '../contract/consent.ts';
import { appendAudit, auditedTransaction } from './audit.ts';
import { accessChangingTransaction } from './sign-in-cache.ts';
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
  reads_for: string[];
}

const siteFromRow = (row: SiteRow): Site => ({ id: row.id, name: row.name, level: row.level, parentId: optional(row.parent_id), readsFor: row.reads_for });

/** A site with the sites it reads for, in id order. */
const SITE_SELECT = `select s.id, s.name, s.level, s.parent_id,
  array(select r.read_site_id from site_reading r where r.reader_site_id = s.id order by 1) as reads_for from sites s`;

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

/**
 * Refuses (InvalidReferenceError on `parentId`) a parent that does not exist or is not of a
 * higher level than `level`. Levels strictly rising along every chain of parents is also what
 * keeps a chain from looping back to where it started.
 */
async function requireParentAbove(db: Queryable, parentId: string, level: SiteLevel): Promise<void> {
  const { rows: [parent] } = await db.query<{ level: SiteLevel }>('select level from sites where id = $1', [parentId]);
  if (!parent) throw new InvalidReferenceError('parentId', `no such site: ${parentId}`);
  if (!isLevelAbove(parent.level, level)) throw new InvalidReferenceError('parentId', `a parent must be of a higher level than ${level}; ${parentId} is ${parent.level}`);
}

/** The site reads and writes, each given the store's context first (bindContext). */
export const siteAccess = {
  /** The site a study belongs to, or undefined for a study not (yet) stored. */
  async studySite({ db }: StoreContext, studyInstanceUid: string): Promise<string | undefined> {
    const { rows: [row] } = await db.query<{ site_id: string }>('select site_id from studies where study_instance_uid = $1', [studyInstanceUid]);
    return row?.site_id;
  },

  /**
   * What ingest asks before queuing an instance's jobs, in one round trip: the study's filing
   * (its site, and the priority triage ranks it at: what its next instance's jobs are queued at) and, when `purpose` is given (an image), why consent withholds
   * it from the patient at `siteId` (consent_withheld), or undefined when it is allowed.
   */
  async filingAndConsent({ db }: StoreContext, studyInstanceUid: string, siteId: string, patientId: string | undefined, purpose?: ConsentPurpose): Promise<{ filed?: { siteId: string; priority: number }; withheld?: WithheldCode }> {
    const { rows: [row] } = await db.query<{ site_id: string | null; priority: number | null; withheld: WithheldCode | null }>(
      `select (select site_id from studies where study_instance_uid = $1) as site_id, (select priority from studies where study_instance_uid = $1) as priority,
              case when $4::text is null then null else consent_withheld($2, $3, $4) end as withheld`,
      [studyInstanceUid, siteId, patientId ?? null, purpose ?? null]);
    return { filed: row.site_id === null ? undefined : { siteId: row.site_id, priority: Number(row.priority) }, withheld: optional(row.withheld) };
  },

  async listSites({ db }: StoreContext): Promise<Site[]> {
    const { rows } = await db.query<SiteRow>(`${SITE_SELECT} order by s.id`);
    return rows.map(siteFromRow);
  },

  /**
   * Contract: one transaction; the changed site row and `site.updated` with before and after
   * (actor = the admin); a change that changes nothing writes and audits nothing. An unknown
   * site → NotFoundError; a parent that does not exist or is not above the (new) level, or a
   * level not below the parent's or not above a child's → InvalidReferenceError, nothing written.
   */
  async updateSite({ db }: StoreContext, siteId: string, change: SiteChange, actor: string): Promise<Site> {
    return auditedTransaction(db, async (tx) => {
      const { rows: [found] } = await tx.query<SiteRow>('select id, name, level, parent_id from sites where id = $1 for update', [siteId]);
      if (!found) throw new NotFoundError(`site ${siteId} does not exist`);
      const before = { name: found.name, level: found.level, parentId: found.parent_id };
      const after = { name: change.name ?? before.name, level: change.level ?? before.level, parentId: change.parentId === undefined ? before.parentId : change.parentId };
      if (after.parentId !== null) await requireParentAbove(tx, after.parentId, after.level);
      const { rows: children } = await tx.query<{ id: string; level: SiteLevel }>('select id, level from sites where parent_id = $1 order by id', [siteId]);
      const notBelow = children.filter((child) => !isLevelAbove(after.level, child.level));
      if (notBelow.length > 0) {
        throw new InvalidReferenceError('level', `a site must be of a higher level than its children; ${notBelow.map((c) => `${c.id} is ${c.level}`).join(', ')}`);
      }
      if (after.name !== before.name || after.level !== before.level || after.parentId !== before.parentId) {
        await tx.query('update sites set name = $2, level = $3, parent_id = $4 where id = $1', [siteId, after.name, after.level, after.parentId]);
        await appendAudit(tx, { actor, action: 'site.updated', entityType: 'site', entityId: siteId, payload: { before, after } });
      }
      const { rows: [row] } = await tx.query<SiteRow>(`${SITE_SELECT} where s.id = $1`, [siteId]);
      return siteFromRow(row);
    });
  },

  /**
   * Contract: one transaction replaces the sites `siteId` reads for with `readsFor` and audits
   * `site.reads-for.set` with before and after (actor = the admin); the same list again changes
   * and audits nothing. An unknown `siteId` → NotFoundError; an unknown site in the list, or
   * the site itself → InvalidReferenceError on `readsFor`, nothing written.
   */
  async setSitesReadFor(context: StoreContext, siteId: string, readsFor: readonly string[], actor: string): Promise<Site> {
    return accessChangingTransaction(context, async (tx) => {
      // Locks the site's row: two admins setting its list at once apply one after the other, each audit's `before` true.
      const { rows: [found] } = await tx.query('select id from sites where id = $1 for update', [siteId]);
      if (!found) throw new NotFoundError(`site ${siteId} does not exist`);
      if (readsFor.includes(siteId)) throw new InvalidReferenceError('readsFor', `a site does not read for itself (${siteId})`);
      await requireSites(tx, readsFor, 'readsFor');
      const { rows: current } = await tx.query<{ id: string }>('select read_site_id as id from site_reading where reader_site_id = $1 order by 1', [siteId]);
      const before = current.map((r) => r.id);
      const after = [...readsFor].sort();
      if (before.join() !== after.join()) {
        await tx.query('delete from site_reading where reader_site_id = $1 and not (read_site_id = any($2))', [siteId, after]);
        await tx.query('insert into site_reading (reader_site_id, read_site_id) select $1, unnest($2::text[]) on conflict do nothing', [siteId, after]);
        await appendAudit(tx, { actor, action: 'site.reads-for.set', entityType: 'site', entityId: siteId, payload: { before, after } });
      }
      const { rows: [row] } = await tx.query<SiteRow>(`${SITE_SELECT} where s.id = $1`, [siteId]);
      return siteFromRow(row);
    });
  },

  /**
   * Contract: one transaction; the site row and `site.created` (actor = the admin). A taken
   * id → false, nothing written; an unknown parent → InvalidReferenceError.
   */
  async createSite({ db }: StoreContext, site: NewSite, actor: string): Promise<boolean> {
    return auditedTransaction(db, async (tx) => {
      if (site.parentId) await requireParentAbove(tx, site.parentId, site.level);
      const inserted = await tx.query('insert into sites (id, name, level, parent_id) values ($1, $2, $3, $4) on conflict do nothing returning id',
        [site.id, site.name, site.level, site.parentId ?? null]);
      if (inserted.rows.length === 0) return false;
      await appendAudit(tx, { actor, action: 'site.created', entityType: 'site', entityId: site.id, payload: { name: site.name, level: site.level, parentId: site.parentId ?? null } });
      return true;
    });
  },
};
