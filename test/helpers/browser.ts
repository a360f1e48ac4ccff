import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";

/** The system's Chromium (Debian's `chromium`, installed by scripts/install-test-services.sh); nothing is downloaded. */
export function chromiumPath(): string | undefined {
  const found = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p): p is string => !!p && existsSync(p));
  if (!found && process.env.CI) throw new Error("no Chromium found: .ci/run installs Debian's chromium (scripts/install-test-services.sh)");
  return found;
}

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath()!,
    headless: true,
    // Root in a container has no user namespace for the sandbox; the pages are our own, on loopback.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"],
    defaultViewport: { width: 1280, height: 900 },
  });
}
