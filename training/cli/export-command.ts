import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { Ledger } from "../../server/ledger/ledger.js";
import type { LedgerStore } from "../../server/ledger/ledger-store.js";
import { PostgresDatabase } from "../../server/state/postgres/pg-database.js";
import { PostgresLedger } from "../../server/state/postgres/pg-ledger.js";
import { exportTrainingData } from "../data/ledger-export.js";

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("Write a model's answered escalations and resolved reviews as JSONL that `train --data` reads (text, label, source).")
    .requiredOption("--model <name>", "model whose records to export")
    .option("--ledger <file>", "the server's ledger (ledger.path)", "data/ledger.sqlite")
    .option("--postgres <url>", "a fleet's ledger: the PostgreSQL of state.postgres.url (instead of --ledger)")
    .requiredOption("-o, --output <file>", "JSONL file to write")
    .action(async (flags: { model: string; ledger: string; postgres?: string; output: string }) => {
      const database = flags.postgres ? await PostgresDatabase.open({ url: flags.postgres, poolSize: 2, statementTimeoutMs: 60_000, retryMs: 2_000 }) : undefined;
      const ledger: LedgerStore = database ? new PostgresLedger(database) : new Ledger(flags.ledger);
      try {
        const examples = await exportTrainingData(ledger, flags.model);
        await writeFile(flags.output, examples.map((e) => JSON.stringify(e)).join("\n") + (examples.length ? "\n" : ""));
        const human = examples.filter((e) => e.source === "human").length;
        console.log(`wrote ${examples.length} examples (${human} labelled by people, ${examples.length - human} by the frontier) to ${flags.output}`);
        if (examples.length === 0) console.log("no records with stored text: the server keeps texts only with ledger.storeInputs: true");
      } finally {
        await ledger.close();
        await database?.close();
      }
    });
}
