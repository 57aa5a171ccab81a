import { z } from 'zod';

/**
 * Sites: the institutions of a care network — village and township clinics, county and city
 * hospitals. Every study and every user belongs to sites; a user reads the studies of its own
 * sites and of the sites they read for (a county hospital reads for its township clinics), and
 * files what it sends in under its first site (docs/network.md).
 */

/** The one site an installation starts with, so a single clinic needs no configuration. */
export const DEFAULT_SITE = 'main';

export const SITE_LEVELS = ['village', 'township', 'county', 'city'] as const;

export const siteId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits or dash; 1–63 characters');

const siteFields = z.object({
  id: siteId,
  name: z.string().trim().min(1).max(200),
  level: z.enum(SITE_LEVELS),
  /** The site one level up that this one refers to, if any: of a higher level than this one. */
  parentId: siteId.optional(),
});

/** How many sites one site may read for: a county remote-reading centre serves a few dozen township clinics. */
export const MAX_SITES_READ_FOR = 500;

export const site = siteFields.extend({
  /**
   * The sites this one reads for (a county hospital for its township clinics): their studies
   * are in the scope of this site's users. Direct only — not the sites those read for.
   */
  readsFor: z.array(siteId),
}).meta({ id: 'Site' });

/** `POST /v1/sites` (admins); what it reads for is set afterwards (`PUT /v1/sites/{siteId}/reads-for`). */
export const newSiteRequest = siteFields.strict();

export const siteParams = z.object({ siteId });

/**
 * `PATCH /v1/sites/{siteId}` (admins): what changes; `parentId: null` detaches the site. A
 * parent must be of a higher level than its child (so a chain of parents never loops back).
 */
export const siteChange = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  level: z.enum(SITE_LEVELS).optional(),
  parentId: siteId.nullable().optional(),
}).strict().refine((c) => Object.keys(c).length > 0, { message: 'name at least one of name, level, parentId' });

/** `PUT /v1/sites/{siteId}/reads-for` (admins): the full list, replacing the one before. */
export const readsForRequest = z.object({
  readsFor: z.array(siteId).max(MAX_SITES_READ_FOR)
    .refine((ids) => new Set(ids).size === ids.length, 'each site once'),
}).strict();

export const siteList = z.object({ items: z.array(site) }).meta({ id: 'SiteList' });

export type Site = z.infer<typeof site>;
export type NewSite = z.infer<typeof newSiteRequest>;
export type SiteChange = z.infer<typeof siteChange>;

/** Whether a site of level `upper` may be the parent of one of level `lower`: strictly higher. */
export const isLevelAbove = (upper: SiteLevel, lower: SiteLevel) => SITE_LEVELS.indexOf(upper) > SITE_LEVELS.indexOf(lower);
export type SiteLevel = (typeof SITE_LEVELS)[number];
