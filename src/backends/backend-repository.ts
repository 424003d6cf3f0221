import type { BackendSpec } from "./backend-spec.ts";

export interface BackendRepository {
  /** Adds a backend; ConflictError when the name is taken. */
  add(spec: BackendSpec): Promise<void>;
  /**
   * Replaces a backend's settings (its createdAt stays; updatedAt moves, so running gateways
   * reconnect it); NotFoundError when there is none by that name, ConflictError when
   * `expectedUpdatedAt` is given and someone changed it since it was read.
   */
  update(spec: BackendSpec, expectedUpdatedAt?: number): Promise<BackendSpec>;
  get(name: string): Promise<BackendSpec | undefined>;
  list(): Promise<BackendSpec[]>;
  /** Removes a backend; NotFoundError when there is none by that name. */
  remove(name: string): Promise<void>;
}
