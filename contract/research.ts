import { z } from 'zod';
import { dicomUid } from './dicomweb.ts';
import { decision, heatmap, modelProvenance } from './findings.ts';
import { region } from './reading.ts';
import { imageAttributes, studyStatus, worklistQuery } from './studies.ts';

/**
 * What model teams read: studies de-identified by DICOM PS3.15 Annex E's Basic Profile with
 * the modified-dates option, as `lantern export --deidentify` writes them and with the same
 * key (dicom/deidentify). UIDs are remapped consistently (`2.25.…`), the patient is a
 * pseudonym, every date and time moves by the patient's whole-day offset, readers are
 * pseudonyms, free text (comments, descriptions, reasons' wording) is left out. Nothing
 * here names the patient, the accession, a real UID or a real date.
 */

/** `GET /v1/research/studies`: the worklist's filters (status, modality, priority band), and how many. */
export const researchListQuery = worklistQuery.extend({
  limit: z.coerce.number().int().min(1).max(200).default(100),
});

export const researchStudyParams = z.object({ pseudonymousUid: dicomUid });
export const researchFrameParams = z.object({
  pseudonymousUid: dicomUid,
  /** The instance's pseudonymous SOP Instance UID, as the study lists it. */
  pseudonymousInstanceUid: dicomUid,
  frame: z.string().meta({ description: '1-based frame number' }),
});

/** A decision a reader made on an AI finding; the reader is a stable pseudonym. */
export const researchDecision = z.object({
  decision,
  reasonCode: z.string().optional(),
  reader: z.string(),
  decidedAt: z.string().meta({ description: 'Shifted by the patient\'s date offset.' }),
});

/** An AI finding with the exact model that made it and every decision on it, oldest first. */
export const researchFinding = z.object({
  sopInstanceUid: z.string(),
  label: z.string(),
  display: z.string(),
  probability: z.number().nullable(),
  positive: z.boolean(),
  refer: z.boolean(),
  operatingPoint: z.object({ name: z.string(), threshold: z.number() }),
  model: modelProvenance,
  /** Whether the image was inside the model's population, and the code of the reason when not. */
  applicable: z.boolean(),
  notApplicableCode: z.string().optional(),
  heatmap: heatmap.optional(),
  createdAt: z.string(),
  decisions: z.array(researchDecision),
  aiAssisted: z.string(),
});

/** A finding a reader added that the AI did not report (its comment left out). */
export const researchReaderFinding = z.object({
  label: z.string(),
  sopInstanceUid: z.string().optional(),
  region: region.optional(),
  reader: z.string(),
  createdAt: z.string(),
});

/** A study as a list row: no name, ID, birth date, accession, description or real UID; dates shifted. */
export const researchStudySummary = z.object({
  pseudonymousUid: z.string(),
  patient: z.string().meta({ description: 'The patient\'s pseudonym: the same for every study of the same patient.' }),
  modality: z.string().optional(),
  studyDate: z.string().optional().meta({ description: 'DA, shifted by the patient\'s whole-day offset.' }),
  receivedAt: z.string().meta({ description: 'Shifted by the patient\'s whole-day offset.' }),
  status: studyStatus,
  findings: z.number().int(),
  decided: z.number().int(),
}).meta({ id: 'ResearchStudySummary' });

export const researchStudyList = z.object({
  items: z.array(researchStudySummary),
  /** Studies of the user's sites left out because their patient's consent keeps them inside the site (contract/consent.ts `sharing`). */
  withheldByConsent: z.number().int(),
}).meta({ id: 'ResearchStudyList' });

export const researchInstance = z.object({
  sopInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  modality: z.string().optional(),
  image: imageAttributes.optional(),
  /** De-identified frames of this instance: append `/1` for the first. */
  framesUrl: z.string(),
});

export const researchStudy = z.object({
  study: researchStudySummary,
  instances: z.array(researchInstance),
  findings: z.array(researchFinding),
  readerFindings: z.array(researchReaderFinding),
  /** How it was de-identified. */
  deidentification: z.object({ profile: z.string(), options: z.array(z.string()) }),
}).meta({ id: 'ResearchStudy' });

export type ResearchStudySummary = z.infer<typeof researchStudySummary>;
export type ResearchStudy = z.infer<typeof researchStudy>;
export type ResearchFinding = z.infer<typeof researchFinding>;
