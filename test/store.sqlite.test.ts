import { sqliteStoreFixture } from "./helpers/store-fixtures.ts";
import { runStoreContract } from "./store.contract.ts";

runStoreContract("sqlite", () => sqliteStoreFixture());
