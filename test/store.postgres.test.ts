import { openStore } from "../src/store/open-store.ts";
import { isolatedSchema, postgresAvailable } from "./helpers/postgres.ts";
import { runStoreContract } from "./store.contract.ts";

runStoreContract("postgres", async () => {
  if (!(await postgresAvailable())) return undefined;
  const schema = await isolatedSchema("store");
  const store = openStore(schema.url);
  return {
    store,
    openPeer: () => openStore(schema.url),
    async cleanup() {
      await store.close();
      await schema.drop();
    },
  };
});
