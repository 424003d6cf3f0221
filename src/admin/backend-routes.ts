import type { z } from "zod";
import type { ProbeResult } from "../backends/backend-probe.ts";
import { type UseStore, addBackend, backendView, patternsNaming, requireBackend, testBackend, updateBackend } from "../operator-calls/backend-service.ts";
import { ApiErrorSchema } from "../jobs/job-api-schemas.ts";
import { backendPinState, backendsWithPins } from "../operator-calls/backend-pin-state.ts";
import type { PinPolicy } from "../pinning/pin-record.ts";
import {
  AddBackendBodySchema,
  BackendChangedSchema,
  BackendListSchema,
  BackendWithPinsSchema,
  DryRunQuerySchema,
  ProbeSchema,
  RemovedBackendSchema,
  UpdateBackendBodySchema,
} from "./admin-api-schemas.ts";
import type { AdminRoute, AdminServices } from "./admin-route.ts";

/** Backends: what `mcpgw backend …` does, over HTTP. Adding and changing test the backend first, as the CLI does. */

const READ_ERRORS = { 401: ApiErrorSchema, 403: ApiErrorSchema };
const WRITE_ERRORS = { 400: ApiErrorSchema, 401: ApiErrorSchema, 403: ApiErrorSchema, 404: ApiErrorSchema, 409: ApiErrorSchema, 422: ApiErrorSchema };

/** The gateway's store for every step (the CLI opens one per step). */
const storeOf =
  (services: AdminServices): UseStore =>
  (fn) =>
    fn(services.store);

/** A probe as answered: what connecting found, without the definitions. */
function tested(probe: ProbeResult | undefined) {
  if (!probe) return {};
  const { definitions: _definitions, ...rest } = probe;
  return { tested: rest };
}

/** The pinning modes a change set, as answered. */
function pinning(policy: PinPolicy | undefined) {
  if (!policy) return {};
  return { pinning: { pinMode: policy.pinMode, driftMode: policy.driftMode, suspicious: policy.suspicious } };
}

export const BACKEND_ROUTES: readonly AdminRoute[] = [
  {
    method: "get",
    path: "/v1/admin/backends",
    summary: "List backends (secrets redacted) with their pinning",
    permission: "read",
    action: "backends.list",
    responses: { 200: BackendListSchema, ...READ_ERRORS },
    async handle({ services }) {
      return { body: { backends: (await backendsWithPins(services.store)).map(({ spec, pins }) => ({ ...backendView(spec), pins })) } };
    },
  },
  {
    method: "post",
    path: "/v1/admin/backends",
    summary: "Register a backend",
    description:
      "Validates the settings and connects to the backend as the gateway would (unless `test` is false, or it takes per-caller credentials). A failed test saves nothing: 422 says why.",
    permission: "write",
    action: "backends.add",
    body: AddBackendBodySchema,
    responses: { 201: BackendChangedSchema, ...WRITE_ERRORS },
    async handle({ services, body, recordChange }) {
      const { name, ...flags } = body as z.infer<typeof AddBackendBodySchema>;
      const { spec, probe, policy } = await addBackend(storeOf(services), name, flags, services.probe);
      await recordChange({ target: spec.name, backend: spec.name, before: null, after: backendView(spec) });
      return { status: 201, body: { backend: backendView(spec), ...tested(probe), ...pinning(policy) } };
    },
  },
  {
    method: "get",
    path: "/v1/admin/backends/{name}",
    summary: "One backend (secrets redacted) with its pinning",
    permission: "read",
    action: "backends.show",
    responses: { 200: BackendWithPinsSchema, ...READ_ERRORS, 404: ApiErrorSchema },
    async handle({ services, params }) {
      const spec = await requireBackend(services.store, params.name!);
      return { body: { ...backendView(spec), pins: await backendPinState(services.store, spec.name) } };
    },
  },
  {
    method: "patch",
    path: "/v1/admin/backends/{name}",
    summary: "Change a backend's settings",
    description:
      "Only the given settings change (a list replaces the whole list; `unset` returns settings to their defaults); the result is validated and tested as when adding. Running gateways reconnect it within a second.",
    permission: "write",
    action: "backends.update",
    body: UpdateBackendBodySchema,
    responses: { 200: BackendChangedSchema, ...WRITE_ERRORS },
    async handle({ services, params, body, recordChange }) {
      const name = params.name!;
      const result = await updateBackend(storeOf(services), name, body as z.infer<typeof UpdateBackendBodySchema>, services.probe);
      const after = result.after ?? (await requireBackend(services.store, name));
      if (result.after || result.policy) {
        await recordChange({
          target: name,
          backend: name,
          before: backendView(result.before),
          after: { ...backendView(after), ...(result.policy && { pinning: result.policy }) },
        });
      }
      return {
        body: { backend: backendView(after), changed: result.changed, dropped: result.dropped, ...tested(result.probe), ...pinning(result.policy) },
      };
    },
  },
  {
    method: "delete",
    path: "/v1/admin/backends/{name}",
    summary: "Remove a backend",
    description: "Role and limit patterns naming it stay (matching nothing); the answer lists them. With `dryRun=true` it lists them and nothing is removed.",
    permission: "write",
    action: "backends.remove",
    query: DryRunQuerySchema,
    responses: { 200: RemovedBackendSchema, ...WRITE_ERRORS },
    async handle({ services, params, query, recordChange }) {
      const before = await requireBackend(services.store, params.name!);
      const unmatched = await patternsNaming(services.store, before.name);
      if ((query as z.infer<typeof DryRunQuerySchema>).dryRun === "true") return { body: { backend: backendView(before), unmatched } };
      await services.store.backends.remove(before.name);
      await recordChange({ target: before.name, backend: before.name, before: backendView(before), after: null });
      return { body: { backend: backendView(before), unmatched } };
    },
  },
  {
    method: "post",
    path: "/v1/admin/backends/{name}/test",
    summary: "Connect to a backend and list its tools",
    description: "Connects as the gateway would (era detection, initialize or server/discover). Needs admin:write: it starts a stdio backend's process.",
    permission: "write",
    action: "backends.test",
    responses: { 200: ProbeSchema, ...WRITE_ERRORS },
    async handle({ services, params }) {
      const spec = await requireBackend(services.store, params.name!);
      const { definitions: _definitions, ...probe } = await testBackend(spec, services.probe);
      return { body: probe };
    },
  },
];
