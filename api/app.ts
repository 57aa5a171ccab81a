import fs from 'node:fs';
import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context } from 'hono';
import { bodyLimits } from './body-limit.ts';
import { DEFAULT_MAX_JSON_BYTES, type ApiDeps } from './deps.ts';
import { authentication } from './auth.ts';
import { ApiError, errorResponse } from './errors.ts';
import { agreementRoutes } from './routes/agreement.ts';
import { modelComparisonRoutes } from './routes/model-comparison.ts';
import { auditRoutes } from './routes/audit.ts';
import { cdsHooksRoutes } from './routes/cds-hooks.ts';
import { eventRoutes } from './routes/events.ts';
import { fhirNoRoute } from './fhir/http.ts';
import { fhirRoutes } from './fhir/routes.ts';
import { fhirVitalsRoutes } from './fhir/vitals.ts';
import { openApiRoutes, undeclaredRoutes } from './openapi.ts';
import { declaredRoutes } from './route.ts';
import { frameRoutes } from './routes/frames.ts';
import { qidoRoutes } from './routes/qido.ts';
import { renderedRoutes } from './routes/rendered.ts';
import { wadoRoutes } from './routes/wado.ts';
import { healthRoutes } from './routes/health.ts';
import { createApiMetrics } from './metrics.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { readyRoutes } from './routes/ready.ts';
import { modelRoutes } from './routes/models.ts';
import { modelDriftRoutes } from './routes/model-drift.ts';
import { readerFindingRoutes } from './routes/reader-findings.ts';
import { researchRoutes } from './routes/research.ts';
import { reviewRoutes } from './routes/reviews.ts';
import { riskRoutes } from './routes/risk.ts';
import { sessionRoutes } from './routes/session.ts';
import { siteRoutes } from './routes/sites.ts';
import { consentRoutes } from './routes/consent.ts';
import { consultationRoutes } from './routes/consultations.ts';
import { stowRoutes } from './routes/stow.ts';
import { surveillanceRoutes } from './routes/surveillance.ts';
import { studyRoutes } from './routes/studies.ts';
import { triageRoutes } from './routes/triage.ts';
import { userRoutes } from './routes/users.ts';
import { vitalsRoutes } from './routes/vitals.ts';
import { worklistRoutes } from './routes/worklist.ts';
import { security } from './security.ts';

/** Paths that belong to the API (now or by standard: FHIR, CDS Hooks, metrics, OpenAPI): unknown ones answer a JSON 404. */
const API_PREFIXES = ['/v1', '/dicomweb', '/fhir', '/cds-services', '/metrics', '/openapi.json', '/health', '/ready'];

const noRoute = (c: Context) => errorResponse(c, new ApiError(404, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));

/** The HTTP surface: one module per resource, mounted here, its OpenAPI document generated from them; the built viewer at `/`. */
export function createApp(given: ApiDeps) {
  const deps = { ...given, metrics: given.metrics ?? createApiMetrics() };
  const app = new Hono();
  app.onError((error, c) => errorResponse(c, error));
  // First, so that every answer is timed, refusals by the middleware below among them.
  app.use('*', deps.metrics.http);
  const sharedLogin = deps.config.sharedRateLimits ? { redis: deps.redis, keyPrefix: deps.config.queuePrefix ?? 'lantern' } : undefined;
  app.use('*', ...security({ ...deps.config, tls: Boolean(deps.config.tlsCertFile), sharedLogin }));
  app.use('*', bodyLimits({ maxUploadBytes: deps.config.maxUploadBytes, maxJsonBodyBytes: deps.config.maxJsonBodyBytes ?? DEFAULT_MAX_JSON_BYTES }));

  app.use('*', authentication(deps, { idleMinutes: deps.config.sessionIdleMinutes, absoluteHours: deps.config.sessionAbsoluteHours }));

  const features = [sessionRoutes, userRoutes, siteRoutes, consentRoutes, healthRoutes, readyRoutes, stowRoutes, worklistRoutes, studyRoutes, frameRoutes, qidoRoutes, wadoRoutes, renderedRoutes, reviewRoutes, readerFindingRoutes,
    researchRoutes, eventRoutes, consultationRoutes,
    agreementRoutes, modelComparisonRoutes, auditRoutes, modelRoutes, modelDriftRoutes, riskRoutes, triageRoutes, cdsHooksRoutes, surveillanceRoutes, vitalsRoutes, fhirRoutes, fhirVitalsRoutes, metricsRoutes].map((routes) => routes(deps));
  const openApi = openApiRoutes(features.flatMap(declaredRoutes));
  for (const routes of [...features, openApi]) app.route('/', routes);
  const undeclared = undeclaredRoutes(app, [...features, openApi].flatMap(declaredRoutes));
  if (undeclared.length) throw new Error(`routes without a declaration (api/route.ts mount) would be missing from /openapi.json: ${undeclared.join(', ')}`);
  // A FHIR client reads an OperationOutcome, whatever it asked.
  app.all('/fhir', fhirNoRoute);
  app.all('/fhir/*', fhirNoRoute);
  // A client of an API path must never mistake the viewer's HTML for an answer.
  for (const prefix of API_PREFIXES) {
    app.all(prefix, noRoute);
    app.all(`${prefix}/*`, noRoute);
  }

  const viewerRoot = path.relative(process.cwd(), deps.config.viewerDir) || '.';
  app.use('/*', serveStatic({ root: viewerRoot }));
  app.get('/*', (c) => {
    const index = path.join(deps.config.viewerDir, 'index.html');
    if (!fs.existsSync(index)) {
      return errorResponse(c, new ApiError(404, 'VIEWER_NOT_BUILT', 'the viewer is not built; run `npm run build:viewer` (npm start does it for you)'));
    }
    return c.html(fs.readFileSync(index, 'utf8'));
  });
  return app;
}
