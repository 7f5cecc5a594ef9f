// Headless Debian chromium (playwright-core) on /api/docs: Swagger UI renders the server's
// OpenAPI document, then "try it out" on GET /api/v1/me with an access token (Authorize) gets
// the caller back from this same server. Prints one JSON line of what it saw.
//   node docs.mjs <api base> <access token>
import { chromium } from "playwright-core";

const [api, token] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
const seen = { console_errors: [], page_errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error") seen.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => seen.page_errors.push(String(e)));
  await page.goto(api + "/api/docs");
  await page.waitForSelector(".opblock", { timeout: 30000 });
  seen.operations = await page.locator(".opblock").count();
  seen.title = await page.locator(".info .title").first().innerText();
  seen.has_upload = (await page.locator("#operations-images-uploadProductImage").count()) === 1;
  // Authorize with the bearer token.
  await page.click(".auth-wrapper .authorize");
  await page.fill(".auth-container input", token);
  await page.click(".auth-btn-wrapper .authorize");
  await page.click(".btn-done");
  // Try GET /api/v1/me.
  const op = page.locator("#operations-accounts-me");
  await op.locator(".opblock-summary").click();
  await op.locator(".try-out__btn").click();
  await op.locator(".execute").click();
  const status = op.locator(".live-responses-table tbody .response-col_status").first();
  await status.waitFor({ timeout: 20000 });
  seen.try_status = (await status.innerText()).trim();
  seen.try_body = await op.locator(".live-responses-table .microlight").first().innerText();
} catch (e) {
  seen.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
