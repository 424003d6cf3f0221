import { postgresStoreFixture } from "./helpers/store-fixtures.ts";
import { runStoreContract } from "./store.contract.ts";

runStoreContract("postgres", () => postgresStoreFixture("store"));
