export function ensureNpmDeps(): void;
export function ensureViewerBuilt(): void;
