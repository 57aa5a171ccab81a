import { z } from 'zod';

/**
 * Sites: the institutions of a care network — village and township clinics, county and city
 * hospitals. Every study and every user belongs to sites, and a user reads and writes only
 * studies of its own. Reading relationships between levels come with the network (issue 14).
 */

/** The one site an installation starts with, so a single clinic needs no configuration. */
export const DEFAULT_SITE = 'main';

export const SITE_LEVELS = ['village', 'township', 'county', 'city'] as const;

export const siteId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits or dash; 1–63 characters');

export const site = z.object({
  id: siteId,
  name: z.string().trim().min(1).max(200),
  level: z.enum(SITE_LEVELS),
  /** The site one level up that this one refers to, if any. */
  parentId: siteId.optional(),
}).meta({ id: 'Site' });

/** `POST /v1/sites` (admins). */
export const newSiteRequest = site.strict();

export const siteList = z.object({ items: z.array(site) }).meta({ id: 'SiteList' });

export type Site = z.infer<typeof site>;
