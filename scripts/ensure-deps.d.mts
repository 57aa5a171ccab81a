export function ensureNpmDeps(): void;
export function ensureViewerBuilt(): void;
export const ohifDist: string;
export function ensureOhifBuild(): void;
