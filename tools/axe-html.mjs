// axe-core on the HTML edition in headless Chromium (Debian's, through puppeteer-core).
// Usage: node tools/axe-html.mjs build/<slug>.html [screenshot.png]
// Prints each violation and exits 1 if there is any; saves a screenshot of the first screen.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [page_path, screenshot] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 1400 });
  await page.goto(pathToFileURL(path.resolve(page_path)).href, { waitUntil: "load" });
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    await axe.run(document, { resultTypes: ["violations"] }));
  if (screenshot) await page.screenshot({ path: screenshot });
  for (const violation of result.violations) {
    console.log(`${violation.impact}: ${violation.id}: ${violation.help}`);
    for (const node of violation.nodes.slice(0, 5)) console.log(`  ${node.target.join(" ")}`);
  }
  console.log(`axe: ${result.violations.length} violation(s), ${result.passes?.length ?? 0} passed`);
  process.exitCode = result.violations.length ? 1 : 0;
} finally {
  await browser.close();
}
