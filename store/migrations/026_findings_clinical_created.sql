-- The AI results SR reconciliation (pipeline/ai-results-sr.ts reconcile) reads the last week's
-- clinical findings, a page at a time in the order they were recorded, to find any whose SR was
-- never queued (a process stopped between recording findings answered at ingest and queueing
-- their document). findings_model_created leads with the model id, so it cannot serve a range
-- over every model; this one does, and holds only the rows clinicians see.
create index findings_clinical_created on findings (created_at, id) where deployment = 'clinical';
