/**
 * DIMSE statuses Lantern answers with (PS3.7 Annex C; C-STORE PS3.4 B.2.3; C-FIND PS3.4 C.4.1.1.4).
 * A refusal names its reason in Error Comment (0000,0902) as far as 64 characters allow.
 */
export const STATUS = {
  success: 0x0000,
  pending: 0xff00,
  /** Refused: out of resources — the object is over a size bound, or too many matches. */
  outOfResources: 0xa700,
  /** Error: data set does not match SOP class (C-STORE); identifier does not match SOP class (C-FIND). */
  dataSetDoesNotMatchSopClass: 0xa900,
  /** Error: cannot understand — not parseable, or not what the command said. */
  cannotUnderstand: 0xc000,
  /** Refused: SOP class not supported. */
  sopClassNotSupported: 0x0122,
  /** Refused: not authorised — the calling AE's user may not do this, or the study is another site's. */
  notAuthorized: 0x0124,
  /** Failure: processing failure — Lantern could not complete it (its database or storage); the peer may retry. */
  processingFailure: 0x0110,
} as const;

export interface DimseStatus {
  status: number;
  /** Why, for Error Comment (0000,0902); cut to 64 characters. */
  comment?: string;
}
