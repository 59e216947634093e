// Bundles src/main.ts (with uPlot and the styles) into ../tools/eventlens_tools/console/static, the
// files eventlens local serves at / and the Pulumi program uploads; prints each file's size and the
// gzipped total, and fails over the budget (300 KB gzipped).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "..", "tools", "eventlens_tools", "console", "static");
const BUDGET = 300 * 1024;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "console"), { recursive: true });
await build({
  entryPoints: { app: join(here, "src", "main.ts") },
  outdir: join(out, "console"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022"],
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(join(here, "index.html"), join(out, "index.html"));
// Same origin by default; a deployment that serves the API elsewhere writes its own config.json.
writeFileSync(join(out, "console", "config.json"), JSON.stringify({ api_url: "" }) + "\n");

let total = 0;
const walk = (dir) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? walk(path) : [path];
});
for (const path of walk(out).sort()) {
  const bytes = readFileSync(path);
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  console.log(`${path.slice(out.length + 1).padEnd(22)} ${String(bytes.length).padStart(8)} B  ${String(gz).padStart(7)} B gzipped`);
}
console.log(`console bundle: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB)`);
if (total > BUDGET) {
  console.error("console bundle is over its budget");
  process.exit(1);
}
