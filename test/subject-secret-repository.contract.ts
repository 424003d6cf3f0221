import { expect, test } from "vitest";
import { NotFoundError } from "../src/errors.ts";
import type { StoredSubjectSecret } from "../src/credentials/subject-secret-repository.ts";
import type { Store } from "../src/store/store.ts";

function secret(backend: string, subject: string, overrides: Partial<StoredSubjectSecret> = {}): StoredSubjectSecret {
  return { backend, subject, secretId: `sec_${subject}`, keyId: "k1", ciphertext: "Y2lwaGVy", nonce: "bm9uY2U=", createdAt: 10, updatedAt: 10, ...overrides };
}

/** The SubjectSecretRepository part of the Store contract: every driver passes exactly these cases. */
export function subjectSecretRepositoryContract(getStore: () => Store | undefined): void {
  const storeOf = (context: { skip: (note?: string) => void }) => {
    const store = getStore();
    if (!store) context.skip("store not available");
    return store!;
  };
  const addBackend = async (store: Store, name: string) => {
    await store.backends.add({
      name,
      transport: "streamable-http",
      url: "http://127.0.0.1:9/mcp",
      env: {},
      headers: {},
      timeoutMs: 1000,
      createdAt: 1,
      updatedAt: 1,
    });
  };

  test("subject secrets: put, get, replace (keeping createdAt), list without values, remove; each write moves the secrets version", async (context) => {
    const store = storeOf(context);
    await addBackend(store, "sec-a");
    await addBackend(store, "sec-b");
    const before = (await store.changes.versions()).secrets;
    await store.subjectSecrets.put(secret("sec-a", "bob"));
    await store.subjectSecrets.put(secret("sec-a", "alice"));
    await store.subjectSecrets.put(secret("sec-b", "alice"));
    expect((await store.changes.versions()).secrets).toBeGreaterThan(before);
    expect(await store.subjectSecrets.get("sec-a", "alice")).toEqual(secret("sec-a", "alice"));
    expect(await store.subjectSecrets.get("sec-a", "carol")).toBeUndefined();

    const replaced = secret("sec-a", "alice", { secretId: "sec_new", keyId: "k2", ciphertext: "bmV3", nonce: "bjI=", createdAt: 99, updatedAt: 20 });
    await store.subjectSecrets.put(replaced);
    expect(await store.subjectSecrets.get("sec-a", "alice")).toEqual({ ...replaced, createdAt: 10 });

    const listed = await store.subjectSecrets.list();
    expect(listed.filter((s) => s.backend.startsWith("sec-")).map((s) => `${s.backend}/${s.subject}`)).toEqual(["sec-a/alice", "sec-a/bob", "sec-b/alice"]);
    for (const info of listed) expect(Object.keys(info).sort()).toEqual(["backend", "createdAt", "keyId", "secretId", "subject", "updatedAt"]);
    expect((await store.subjectSecrets.list("sec-b")).map((s) => s.subject)).toEqual(["alice"]);

    const beforeRemove = (await store.changes.versions()).secrets;
    expect(await store.subjectSecrets.remove("sec-a", "bob")).toBe(true);
    expect(await store.subjectSecrets.remove("sec-a", "bob")).toBe(false);
    expect((await store.changes.versions()).secrets).toBe(beforeRemove + 1);
    await expect(store.subjectSecrets.put(secret("no-such-backend", "alice"))).rejects.toBeInstanceOf(NotFoundError);
    // A removed backend takes its secrets with it.
    await store.backends.remove("sec-b");
    expect(await store.subjectSecrets.list("sec-b")).toEqual([]);
  });

  test("subject secrets: reseal changes what it returns, in one transaction that a throw rolls back whole", async (context) => {
    const store = storeOf(context);
    await addBackend(store, "sec-rekey");
    for (const subject of ["a", "b", "c"]) await store.subjectSecrets.put(secret("sec-rekey", subject));
    const others = (await store.subjectSecrets.list()).filter((s) => s.backend !== "sec-rekey");
    const mine = (s: { backend: string }) => s.backend === "sec-rekey";

    await expect(
      store.subjectSecrets.reseal((s) => {
        if (s.backend === "sec-rekey" && s.subject === "c") throw new Error("cannot decrypt c");
        return mine(s) ? { ciphertext: "eA==", nonce: "eQ==", keyId: "k9" } : undefined;
      }),
    ).rejects.toThrow(/cannot decrypt c/);
    expect((await store.subjectSecrets.list("sec-rekey")).map((s) => s.keyId)).toEqual(["k1", "k1", "k1"]);

    const before = (await store.changes.versions()).secrets;
    const changed = await store.subjectSecrets.reseal((s) => (mine(s) && s.subject !== "b" ? { ciphertext: "eA==", nonce: "eQ==", keyId: "k9" } : undefined));
    expect(changed).toBe(2);
    expect((await store.subjectSecrets.list("sec-rekey")).map((s) => s.keyId)).toEqual(["k9", "k1", "k9"]);
    expect(await store.subjectSecrets.get("sec-rekey", "a")).toMatchObject({ ciphertext: "eA==", nonce: "eQ==", secretId: "sec_a", updatedAt: 10 });
    expect((await store.changes.versions()).secrets).toBe(before + 1);
    expect((await store.subjectSecrets.list()).filter((s) => !mine(s))).toEqual(others);
  });
}
