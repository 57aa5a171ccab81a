/**
 * Every study's UID in the order studies arrived, a page at a time: what a lookup by a
 * derived name (the model teams' pseudonymous UIDs, api/research-view.ts) scans once and
 * then follows, without a table of names kept beside the studies.
 */
import { iso, type StoreContext } from './shared.ts';

export interface StudyArrival {
  studyInstanceUid: string;
  receivedAt: string;
}

export const studyIndex = {
  /** Studies after `after` in (received at, UID) order (from the first when absent), at most `limit`. */
  async studiesArrivedAfter({ db }: StoreContext, after: StudyArrival | undefined, limit = 10_000): Promise<StudyArrival[]> {
    const { rows } = await db.query<{ study_instance_uid: string; received_at: Date | string }>(
      `select study_instance_uid, received_at from studies
        where $1::timestamptz is null or (received_at, study_instance_uid) > ($1::timestamptz, $2::text)
        order by received_at, study_instance_uid limit $3`, [after?.receivedAt ?? null, after?.studyInstanceUid ?? '', limit]);
    return rows.map((r) => ({ studyInstanceUid: r.study_instance_uid, receivedAt: iso(r.received_at) }));
  },
};
