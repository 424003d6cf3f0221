import { postgresStoreFixture, sqliteStoreFixture } from "./helpers/store-fixtures.ts";
import { runRateLimiterContract } from "./rate-limiter.contract.ts";

runRateLimiterContract("sqlite", () => sqliteStoreFixture("limits"));
runRateLimiterContract("postgres", () => postgresStoreFixture("limits"));
