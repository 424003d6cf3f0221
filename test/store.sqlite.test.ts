import { join } from "node:path";
import { openStore } from "../src/store/open-store.ts";
import { tempDir } from "./helpers/temp-dir.ts";
import { runStoreContract } from "./store.contract.ts";

runStoreContract("sqlite", async () => {
  const dir = tempDir();
  const url = `sqlite:${join(dir.path, "store.db")}`;
  const store = openStore(url);
  return {
    store,
    openPeer: () => openStore(url),
    async cleanup() {
      await store.close();
      dir.remove();
    },
  };
});
