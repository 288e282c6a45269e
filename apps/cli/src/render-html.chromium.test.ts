import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtml } from "./render-html.js";
import { FAKE_CHECKS, fakeReport } from "./test-report.js";

// The page's own globals, typed here because the test compiles without the DOM lib.
interface BrowserGlobals {
  getComputedStyle(el: unknown): { backgroundColor: string };
}

// Debian's chromium package (installed by scripts/provision.mjs); the test fails, not skips,
// when it is missing, because the HTML report is only proven by a real browser.
const CHROMIUM = process.env.KEYHOLE_CHROMIUM ?? "/usr/bin/chromium";

describe("the HTML report in a real headless Chromium", () => {
  let dir: string;
  let browser: Browser;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "keyhole-html-"));
    file = join(dir, "keyhole-report.html");
    writeFileSync(file, renderHtml(fakeReport(), { checks: FAKE_CHECKS }));
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    // KEYHOLE_KEEP_SCREENSHOTS=1 keeps the page and its screenshot for a human to look at.
    if (dir && !process.env.KEYHOLE_KEEP_SCREENSHOTS) rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`screenshot kept in ${dir}`);
  });

  it("shows the matrix, opens a cell's evidence on click, fetches nothing, and screenshots", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on("request", (r) => {
      if (r.url() !== pathToFileURL(file).href) requests.push(r.url());
    });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(pathToFileURL(file).href);

    const matrix = page.locator("table#matrix");
    await expect.poll(() => matrix.isVisible()).toBe(true);
    expect(await page.locator("table#matrix thead th").allTextContents()).toEqual([
      "check",
      "seed",
      "podman-filepodman 4.3.17 workloads · 9.1 s",
      "docker-swarmdocker swarm 20.10.243 workloads · 4.0 s",
    ]);
    const row = page.locator('tr[data-check="file.uid-gid-mode-honoured"]');
    expect(await row.locator("td.fig").textContent()).toBe("fig. 5-4");
    const cell = row.locator('td[data-backend="podman-file"]');
    expect(await cell.getAttribute("data-outcome")).toBe("protected");
    // The colours really differ per outcome (the CSS applied, not just classes present).
    const bg = (sel: string) =>
      page
        .locator(sel)
        .first()
        .evaluate(
          (el) => (globalThis as unknown as BrowserGlobals).getComputedStyle(el).backgroundColor,
        );
    const colours = new Set([
      await bg("td.cell.protected button"),
      await bg("td.cell.exposed button"),
      await bg("td.cell.unsupported button"),
      await bg("td.cell.error button"),
    ]);
    expect(colours.size).toBe(4);

    const dialog = page.locator("dialog[open]");
    expect(await dialog.count()).toBe(0);
    await cell.locator("button").click();
    await expect.poll(() => dialog.count()).toBe(1);
    const text = (await dialog.textContent()) ?? "";
    expect(await dialog.locator("h2").textContent()).toBe(
      "file.uid-gid-mode-honoured on podman-file",
    );
    expect(text).toContain("2000:2000 0400 /run/secrets/s");
    expect(text).toContain("cat: can't open '/run/secrets/s': Permission denied");
    const shot = join(dir, "keyhole-report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // Closes without script, through the dialog's own form.
    await dialog.getByRole("button", { name: "Close" }).click();
    await expect.poll(() => page.locator("dialog[open]").count()).toBe(0);

    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
