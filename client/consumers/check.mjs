// Compiles the consumer projects beside this file against the built package (dist/), as a front end's
// build would, with every TypeScript the package supports, then runs them under Node. Each is copied to
// a directory of its own, outside this package (whose node_modules/@types a compiler would otherwise
// pick up), with the package linked in as node_modules/@foodbroker/crm-client.
//
//   node consumers/check.mjs          (after `npm run build`; `npm run consumers` does both)
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const client = dirname(here);

// The oldest TypeScript the package supports (5.4: openapi-fetch's declarations need it), the one it is
// built with, and the majors since.
const compilers = {
  "5.4": "typescript-5.4",
  "5.9": "typescript",
  "6": "typescript-6",
  "7": "typescript-7",
};

const consumers = [
  // No tsconfig.json and no options: the compiler's defaults (TypeScript 5: ES5 lib, CommonJS).
  { name: "defaults", compile: ["--noEmit", "index.ts"], run: [] },
  { name: "esm", compile: ["-p", "."], run: [["out/main.js"]] },
  { name: "cjs", compile: ["-p", "."], run: [["out/main.js"], ["plain.cjs"]] },
];

let failures = 0;
const started = Date.now();
for (const consumer of consumers) {
  for (const [version, compiler] of Object.entries(compilers)) {
    const dir = mkdtempSync(join(tmpdir(), `crm-client-${consumer.name}-`));
    try {
      cpSync(join(here, consumer.name), dir, { recursive: true });
      mkdirSync(join(dir, "node_modules", "@foodbroker"), { recursive: true });
      symlinkSync(client, join(dir, "node_modules", "@foodbroker", "crm-client"), "dir");
      const steps = [
        [join(client, "node_modules", compiler, "bin", "tsc"), ...consumer.compile],
        ...consumer.run,
      ];
      for (const step of steps) {
        const result = spawnSync(process.execPath, step, { cwd: dir, encoding: "utf8" });
        const what = step[0] === steps[0][0] ? `tsc ${consumer.compile.join(" ")}` : `node ${step.join(" ")}`;
        if (result.status !== 0) {
          failures += 1;
          console.error(`FAIL ${consumer.name} with TypeScript ${version}: ${what}\n${result.stdout}${result.stderr}`);
          break;
        }
        console.log(`ok   ${consumer.name} with TypeScript ${version}: ${what}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(`${failures ? "FAILED" : "passed"}: ${failures} failure(s), ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failures ? 1 : 0;
