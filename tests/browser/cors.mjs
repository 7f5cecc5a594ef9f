// Runs in headless Debian chromium (playwright-core): opens `page` (a page of another origin)
// and, from inside it, calls the API the way a dashboard does — fetch with Authorization, a
// preflighted PATCH with a JSON body, an error answer — and prints what the page could see as
// one JSON line. Exit status 0 unless the browser itself failed.
//   node cors.mjs <api base> <page url> <access token> <shop id>
import { chromium } from "playwright-core";

const [api, pageUrl, token, shopId] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  const seen = await page.evaluate(
    async ({ api, token, shopId }) => {
      const auth = { Authorization: "Bearer " + token };
      const attempt = async (f) => {
        try {
          return await f();
        } catch (e) {
          return { blocked: String(e) };
        }
      };
      return {
        origin: location.origin,
        me: await attempt(async () => {
          const r = await fetch(api + "/api/v1/me", { headers: auth });
          return { status: r.status, body: await r.json() };
        }),
        patch: await attempt(async () => {
          const r = await fetch(api + "/api/v1/shops/" + shopId, {
            method: "PATCH",
            headers: { ...auth, "Content-Type": "application/json" },
            body: JSON.stringify({ description: "edited from " + location.origin }),
          });
          return { status: r.status, body: await r.json() };
        }),
        error: await attempt(async () => {
          const r = await fetch(api + "/api/v1/products/999999999", { headers: auth });
          return { status: r.status, body: await r.json() };
        }),
        picture: await attempt(async () => {
          const r = await fetch(api + "/api/v1/shops/" + shopId);
          const shop = await r.json();
          if (!shop.images) return { none: true };
          const m = await fetch(shop.images.thumb, { headers: { Accept: "image/webp" } });
          return { status: m.status, etag: m.headers.get("ETag"), type: m.headers.get("Content-Type") };
        }),
      };
    },
    { api, token, shopId }
  );
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
