// The browse page in headless Chromium (Debian's `chromium`, driven by playwright-core): load only
// the manifest parts a search needs, search a kernel, read its status and coverage, copy its URL,
// follow the link and get the published bytes, and fit a phone's screen. Browser-side code is
// passed as strings: the project compiles without the DOM library.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishSite } from "../../site/publish.ts";
import { startSiteServer } from "../../site/serve.ts";
import { makeSiteArchive, type SiteArchive } from "../fixtures/site-archive.ts";

const chromiumPath = "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
const title = hasChromium
  ? "the browse page in Chromium"
  : `the browse page in Chromium (skipped: ${chromiumPath} is absent; apt-get install chromium)`;

describe.skipIf(!hasChromium)(title, () => {
  let work: string;
  let archive: SiteArchive;
  let out: string;
  let server: Server;
  let url: string;
  let profile: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-page-"));
    archive = await makeSiteArchive(work);
    out = join(work, "site");
    await publishSite({ archive: archive.root, out, full: true });
    ({ server, url } = await startSiteServer(out, 0, "127.0.0.1"));
    profile = await mkdtemp(join(tmpdir(), "btfmill-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      permissions: ["clipboard-read", "clipboard-write"],
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
    server?.close();
    server?.closeAllConnections();
    if (work) await rm(work, { recursive: true, force: true });
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  // First, while the browser has fetched no part yet.
  it("loads only the manifest parts its distro, release and arch filters keep, and the others once the search widens", async () => {
    const parts: string[] = [];
    page.on("request", (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith("/manifest/")) parts.push(path);
    });
    await page.goto(`${url}/?distro=ubuntu&release=18.04&arch=x86_64`);
    await expect.poll(() => page.locator("#summary").textContent()).toBe("1 of 5 kernels");
    expect(await page.locator("li.kernel .key").textContent()).toBe(archive.keys.otherRelease);
    expect(parts).toEqual(["/manifest/ubuntu/18.04/x86_64.json"]);
    await page.locator("#release").selectOption("20.04");
    await expect.poll(() => page.locator("#summary").textContent()).toBe("2 of 5 kernels");
    expect(parts).toEqual(["/manifest/ubuntu/18.04/x86_64.json", "/manifest/ubuntu/20.04/x86_64.json"]);
    await page.locator("#release").selectOption("");
    await page.locator("#arch").selectOption("");
    await expect.poll(() => page.locator("#summary").textContent()).toBe("5 of 5 kernels");
    expect(parts.sort()).toEqual([
      "/manifest/ubuntu/18.04/x86_64.json",
      "/manifest/ubuntu/20.04/arm64.json",
      "/manifest/ubuntu/20.04/x86_64.json",
      "/manifest/ubuntu/22.04/x86_64.json",
    ]);
    page.removeAllListeners("request");
  });

  it("finds a typed kernel, shows its coverage, copies its URL and curl line, and the link downloads the published bytes", async () => {
    await page.goto(`${url}/`);
    await expect.poll(() => page.locator("#summary").textContent()).toBe("5 of 5 kernels");
    await page.locator("#q").fill("5.8.0-63");
    await expect.poll(() => page.locator("li.kernel").count()).toBe(2);
    await page.locator("#release").selectOption("20.04");
    await expect.poll(() => page.locator("li.kernel").count()).toBe(1);
    const card = page.locator("li.kernel");
    expect(await card.locator(".key").textContent()).toBe(archive.keys.x86);
    expect(await card.locator(".status").textContent()).toBe("ok");
    expect(await card.locator(".coverage").textContent()).toContain("tcprtt.o: 1/1 relocations resolve");
    expect(await card.locator(".sets").textContent()).toBe(
      "relocations resolved per set: all 4/4 · net 1/1 · probes 3/3",
    );
    expect(page.url()).toBe(`${url}/?q=5.8.0-63&release=20.04`);
    const fileUrl = `${url}/${archive.keys.x86}.btf`;
    await card.locator(".copy-url").click();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(fileUrl);
    await card.locator(".copy-curl").click();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(`curl -fsSLO ${fileUrl}`);
    await page.locator("#set").selectOption("net");
    expect(await card.locator("a.link").getAttribute("href")).toBe(`sets/net/${archive.keys.x86}.btf`);
    await page.locator("#set").selectOption("all");
    const [download] = await Promise.all([page.waitForEvent("download"), card.locator("a.link").click()]);
    expect(download.url()).toBe(fileUrl);
    expect(await readFile((await download.path())!)).toEqual(await readFile(join(out, `${archive.keys.x86}.btf`)));
  });

  it("says why a kernel failed and that a skipped one has its own BTF", async () => {
    await page.goto(`${url}/?q=5.4.0-99`);
    const failed = page.locator("li.kernel");
    await expect.poll(() => failed.count()).toBe(1);
    expect(await failed.locator(".status").textContent()).toBe("failed");
    expect(await failed.locator(".detail").textContent()).toMatch(/holds no vmlinux/);
    expect(await failed.locator("a.link").count()).toBe(0);
    await page.goto(`${url}/?status=skipped`);
    await expect.poll(() => page.locator("li.kernel .status").textContent()).toBe("has BTF");
    expect(await page.locator("li.kernel .detail").textContent()).toMatch(/\/sys\/kernel\/btf\/vmlinux/);
  });

  it("fits a phone's screen: no sideways scrolling, search and results one column", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/?q=generic`);
    await expect.poll(() => page.locator("li.kernel").count()).toBe(5);
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    for (const box of [await page.locator("#q").boundingBox(), await page.locator("li.kernel").first().boundingBox()]) {
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    }
  });
});
