import { createDeidentifyContext, PROFILE_EDITION, readBurnedIn, type DeidentifyContext } from '../dicom/deidentify/index.ts';
import { shiftDate } from '../dicom/deidentify/values.ts';
import { parseDicom } from '../dicom/parse.ts';
import type { ResearchFinding, ResearchStudy, ResearchStudySummary } from '../contract/research.ts';
import type { SiteScope } from '../store/sites.ts';
import type { StudyArrival } from '../store/study-index.ts';
import type { Finding, InstanceRecord, StudyDetail, StudySummary, WorklistFilter, WorklistItem } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';

const DAY_MS = 86_400_000;
/** Studies read per page when the pseudonym index catches up. */
const INDEX_PAGE = 10_000;
/**
 * How far back a catch-up re-reads: a study's arrival is stamped when its transaction starts,
 * so one stamped earlier can commit after a later one was indexed.
 */
const INDEX_OVERLAP_MS = 60_000;
/** Instances whose pseudonymous UID and burned-in flag are remembered (a reader pages through a few studies). */
const INSTANCE_ENTRIES = 10_000;

export const RESEARCH_DEIDENTIFICATION = {
  profile: `DICOM PS3.15 ${PROFILE_EDITION} Annex E, Basic Application Level Confidentiality Profile`,
  options: ['Retain Longitudinal Temporal Information with Modified Dates'],
};

/**
 * Lantern's studies as model teams see them: de-identified with dicom/deidentify's context
 * over the installation's key, so a study's pseudonymous UIDs, its patient's pseudonym and
 * date offset are the same at every call, after a restart, and in an export made with the
 * same key. What the Basic Profile removes is never copied: names, IDs, accession, birth
 * date, descriptions, comments and the wording of reasons; only coded values, numbers, model
 * provenance and shifted dates leave.
 *
 * A pseudonymous UID cannot be reversed; the view keeps an index from pseudonym to study,
 * built by hashing every study's UID once and catching up with new arrivals on a miss.
 */
export function createResearchView(deps: Pick<ApiDeps, 'store' | 'blobs' | 'deidentifyKey'>) {
  const context = () => createDeidentifyContext({ key: deps.deidentifyKey });
  const studies = new Map<string, string>();
  const instances = new Map<string, { sopInstanceUid: string; burnedIn?: Promise<string> }>();
  let indexedTo: StudyArrival | undefined;
  let catchingUp: Promise<void> | undefined;

  async function catchUp(): Promise<void> {
    const ctx = context();
    let after = indexedTo && { receivedAt: new Date(Date.parse(indexedTo.receivedAt) - INDEX_OVERLAP_MS).toISOString(), studyInstanceUid: '' };
    for (;;) {
      const page = await deps.store.studiesArrivedAfter(after, INDEX_PAGE);
      for (const arrival of page) studies.set(ctx.uid(arrival.studyInstanceUid), arrival.studyInstanceUid);
      // The overlap is re-read from the newest arrival seen, never from an earlier overlap: misses do not creep back.
      if (page.length > 0) indexedTo = after = page.at(-1);
      if (page.length < INDEX_PAGE) break;
    }
  }

  /**
   * The real Study Instance UID behind a pseudonymous one: 404 for a pseudonym no study has,
   * and for a study whose patient's consent keeps it inside its site (the list leaves it out
   * and counts it; what it is withheld for is not said of one pseudonymous patient).
   */
  async function studyOf(pseudonymousUid: string): Promise<string> {
    if (!studies.has(pseudonymousUid)) await (catchingUp ??= catchUp().finally(() => { catchingUp = undefined; }));
    const uid = studies.get(pseudonymousUid);
    if (!uid || await deps.store.studyConsentWithheld(uid, 'sharing')) {
      throw new ApiError(404, 'NOT_FOUND', `no study that may be shared has the pseudonymous UID ${pseudonymousUid}`);
    }
    return uid;
  }

  function remember(pseudonymousSop: string, sopInstanceUid: string): void {
    if (instances.has(pseudonymousSop)) return;
    instances.set(pseudonymousSop, { sopInstanceUid });
    if (instances.size > INSTANCE_ENTRIES) instances.delete(instances.keys().next().value!);
  }

  /** A study's patient pseudonym and how its dates move, as dicom/deidentify derives them for its DICOM. */
  function patientOf(ctx: DeidentifyContext, study: StudySummary) {
    const { pseudonym, offsetDays } = ctx.patient(study.patientId ?? '', study.patientName ?? '');
    const shift = (iso: string) => new Date(Date.parse(iso) + offsetDays * DAY_MS).toISOString();
    return { pseudonym, offsetDays, shift };
  }

  function summary(ctx: DeidentifyContext, study: StudySummary, findings: Finding[]): ResearchStudySummary {
    const patient = patientOf(ctx, study);
    const studyDate = study.studyDate && shiftDate(study.studyDate.trim(), patient.offsetDays);
    return {
      pseudonymousUid: ctx.uid(study.studyInstanceUid),
      patient: patient.pseudonym,
      ...(study.modality ? { modality: study.modality } : {}),
      ...(studyDate ? { studyDate } : {}),
      receivedAt: patient.shift(study.receivedAt),
      status: study.status,
      findings: findings.length,
      decided: findings.filter((f) => f.review || f.reviews?.length).length,
    };
  }

  function finding(ctx: DeidentifyContext, shift: (iso: string) => string, f: Finding): ResearchFinding {
    const { id, version, weightsSha256, preprocessing } = f.model;
    return {
      sopInstanceUid: ctx.uid(f.sopInstanceUid),
      label: f.label,
      display: f.display,
      probability: f.probability,
      positive: f.positive,
      refer: f.refer,
      operatingPoint: { name: f.operatingPoint.name, threshold: f.operatingPoint.threshold },
      model: { id, version, weightsSha256, preprocessing },
      applicable: f.applicability?.applicable ?? true,
      ...(f.applicability?.reason ? { notApplicableCode: f.applicability.reason.code } : {}),
      ...(f.heatmap ? { heatmap: f.heatmap } : {}),
      createdAt: shift(f.createdAt),
      decisions: (f.reviews ?? []).map((r) => ({
        decision: r.decision, ...(r.reasonCode ? { reasonCode: r.reasonCode } : {}), reader: ctx.reader(r.reviewer), decidedAt: shift(r.createdAt),
      })),
      aiAssisted: f.aiAssisted,
    };
  }

  return {
    /**
     * List rows for `items` (the worklist's order and filters) of the studies that may leave
     * their site, and how many of the user's sites' studies consent keeps in; each study's
     * pseudonym is indexed as it is shown.
     */
    async list(filter: WorklistFilter, limit: number): Promise<{ items: ResearchStudySummary[]; shown: WorklistItem[]; withheldByConsent: number }> {
      const ctx = context();
      const shown = await deps.store.getWorklist({ ...filter, shareableOnly: true }, limit);
      const items = shown.map((item) => summary(ctx, item, item.findings));
      items.forEach((item, i) => studies.set(item.pseudonymousUid, shown[i].studyInstanceUid));
      return { items, shown, withheldByConsent: await deps.store.studiesWithheldFromSharing(filter.sites) };
    },

    /**
     * One study of the user's sites (`scope`; another site's is a 404, as on the clinical routes)
     * de-identified, and the real UID it was read under (for the audit trail, which names real studies).
     */
    async study(pseudonymousUid: string, scope: SiteScope): Promise<{ study: ResearchStudy; studyInstanceUid: string }> {
      const studyInstanceUid = await studyOf(pseudonymousUid);
      const detail: StudyDetail = await deps.store.getStudy(studyInstanceUid, scope);
      const ctx = context();
      const { shift } = patientOf(ctx, detail.study);
      return {
        studyInstanceUid,
        study: {
          study: summary(ctx, detail.study, detail.findings),
          instances: detail.instances.map((i) => {
            const sop = ctx.uid(i.sopInstanceUid);
            remember(sop, i.sopInstanceUid);
            return {
              sopInstanceUid: sop, seriesInstanceUid: ctx.uid(i.seriesInstanceUid), ...(i.modality ? { modality: i.modality } : {}),
              ...(i.image ? { image: i.image } : {}), framesUrl: `/v1/research/studies/${pseudonymousUid}/instances/${sop}/frames`,
            };
          }),
          findings: detail.findings.map((f) => finding(ctx, shift, f)),
          readerFindings: detail.readerFindings.map((r) => ({
            label: r.label, ...(r.sopInstanceUid ? { sopInstanceUid: ctx.uid(r.sopInstanceUid) } : {}), ...(r.region ? { region: r.region } : {}),
            reader: ctx.reader(r.reviewer), createdAt: shift(r.createdAt),
          })),
          deidentification: RESEARCH_DEIDENTIFICATION,
        },
      };
    },

    /**
     * The stored instance behind a pseudonymous study and instance, refused (409) when the
     * image says text is burned into its pixels, which the Basic Profile cannot remove.
     */
    async instance(pseudonymousUid: string, pseudonymousSop: string, scope: SiteScope): Promise<InstanceRecord> {
      const studyInstanceUid = await studyOf(pseudonymousUid);
      if (!instances.has(pseudonymousSop)) {
        const ctx = context();
        // Every image, not only the study answer's first page: a frame of the 600th must be found too.
        for (const i of (await deps.store.getWholeStudy(studyInstanceUid, scope)).instances) remember(ctx.uid(i.sopInstanceUid), i.sopInstanceUid);
      }
      const known = instances.get(pseudonymousSop);
      const instance = known && await deps.store.getInstance(known.sopInstanceUid, scope);
      if (!known || !instance || instance.studyInstanceUid !== studyInstanceUid) {
        throw new ApiError(404, 'NOT_FOUND', 'no such instance in that study');
      }
      known.burnedIn ??= deps.blobs.get(instance.blobSha256).then((bytes) => readBurnedIn(parseDicom(bytes).dataSet));
      if (await known.burnedIn === 'YES') {
        throw new ApiError(409, 'BURNED_IN_ANNOTATION', 'this image says text is burned into its pixels (0028,0301 YES), which de-identification cannot remove: it is not shown here');
      }
      return instance;
    },
  };
}

/**
 * The pseudonymous Study Instance UID the research view knows a study by: what a page for model
 * teams (the model comparison's disagreements) links with instead of the real one.
 */
export function pseudonymousStudyUid(deps: Pick<ApiDeps, 'deidentifyKey'>): (studyInstanceUid: string) => string {
  const ctx = createDeidentifyContext({ key: deps.deidentifyKey });
  return (studyInstanceUid) => ctx.uid(studyInstanceUid);
}
