/**
 * The findings clinicians may see: those made by a clinical run (a clinical model, or a canary
 * model on a study inside its share). A shadow run's findings are stored beside them
 * (`findings.deployment`, migration 023) for model teams, and must never reach a worklist, a
 * study view, a review, FHIR, a DICOM SR, a CDS Hooks card, a consultation, surveillance or
 * triage. Every clinician-facing read names this relation instead of `findings`
 * (`from ${CLINICAL_FINDINGS} f`); store/clinical-findings.test.ts fails on any other read of
 * the table outside the model-team reads it lists. A subquery, not a view: it always has the
 * table's current columns.
 */
export const CLINICAL_FINDINGS = `(select * from findings where deployment = 'clinical')`;
