import type { BackendSpec } from "../backends/backend-spec.ts";
import type { LimitRule } from "../limits/limit-rule.ts";
import type { PinModes } from "../pinning/pin-record.ts";
import type { RoleDefinition } from "../policy/policy.ts";

/** One grant of a role to a subject (`mcpgw role grant ROLE SUBJECT`). */
export interface RoleBinding {
  role: string;
  subject: string;
}

/**
 * A backend as a document declares it: its spec, and its pinning modes (docs/security.md). In a
 * snapshot `pinning` holds every mode (the defaults for a backend with none set); in a document
 * only the modes it gives, the others being left as they are.
 */
export type DeclaredBackend = BackendSpec & { pinning?: Partial<PinModes> };

/**
 * Everything `mcpgw apply` manages, as the database holds it: roles with their rules in stored
 * order, grants sorted by role then subject, backends by name, limit rules in `limit list` order.
 */
export interface GatewayState {
  roles: RoleDefinition[];
  bindings: RoleBinding[];
  backends: DeclaredBackend[];
  limits: LimitRule[];
}

/** A limit rule as a document declares it: the id is optional (matched by content without one). */
export type DesiredLimit = Omit<LimitRule, "id" | "createdAt"> & { id?: string };

/**
 * What a document asks for. A section that is absent (undefined) is left alone; a present one,
 * even empty, is the whole desired state of that section.
 */
export interface DesiredState {
  roles?: RoleDefinition[];
  bindings?: RoleBinding[];
  backends?: DeclaredBackend[];
  limits?: DesiredLimit[];
}

export const SECTIONS = ["roles", "bindings", "backends", "limits"] as const;
export type Section = (typeof SECTIONS)[number];

/** The kind of object a change is about, one per section. */
export type ObjectKind = "role" | "binding" | "backend" | "limit";
export const KIND_OF_SECTION = { roles: "role", bindings: "binding", backends: "backend", limits: "limit" } as const satisfies Record<Section, ObjectKind>;

type Diff<K extends ObjectKind, T> = { kind: K; name: string } & (
  | { action: "create"; after: T }
  | { action: "update"; before: T; after: T /** The document's names of the fields that differ. */; fields: string[] }
  | { action: "delete"; before: T }
);

/** One object created, updated or deleted by an apply. `name` is what a person recognises it by. */
export type Change = Diff<"role", RoleDefinition> | Diff<"binding", RoleBinding> | Diff<"backend", DeclaredBackend> | Diff<"limit", LimitRule>;
export type ChangeAction = Change["action"];
