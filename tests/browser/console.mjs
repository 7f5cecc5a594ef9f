// The staff console (/console) in headless Debian chromium (playwright-core), against the real
// server: the Python side (console_test.py) built the world and passes it as a JSON file; this
// script drives the pages, calls the API as the customer and the crew would, and prints one
// JSON line of what it saw. When it needs the server restarted it prints `ASK restart` and
// waits for a JSON line on stdin.
//   node console.mjs <world.json> <output dir>
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const world = JSON.parse(readFileSync(process.argv[2], "utf8"));
const outDir = process.argv[3];
const api = world.api;
const seen = { steps: [], console_errors: [], page_errors: [], expected_errors: 0 };
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function ask(what) {
  console.log("ASK " + what);
  const { value } = await lines.next();
  return JSON.parse(value);
}

async function call(method, path, token, body) {
  const res = await fetch(api + "/api/v1" + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function must(method, path, token, body, status) {
  const r = await call(method, path, token, body);
  if (r.status !== status)
    throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

function placeOrder(notes) {
  return must("POST", "/orders", world.customer.token, {
    receiver_name: "Mona <b>bold</b>", receiver_phone: "+201001234567", notes,
    location: { address: "2 Nile St", latitude: 30.06, longitude: 31.24 },
    items: [{ product_id: world.products[0], quantity: 1 }],
  }, 201);
}

// Errors the browser logs for answers the test provokes on purpose (a 401 login, a 404 actor,
// a refused assignment, a bad token) and for the deliberate restart; every other one counts.
let expecting = null; // substrings of the text or URL of the errors expected now
function expected(text, url) {
  if (!expecting) return false;
  return expecting.some((m) => text.includes(m) || (url || "").includes(m));
}

function watch(page, name) {
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location() ? m.location().url : "";
    if (expected(m.text(), url)) seen.expected_errors += 1;
    else seen.console_errors.push(`${name}: ${m.text()} (${url})`);
  });
  page.on("pageerror", (e) => seen.page_errors.push(`${name}: ${e}`));
}

async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  seen.steps.push({ name, ms: Date.now() - t0 });
}

async function noOverflow(page, name) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  const inner = await page.evaluate(() => window.innerWidth);
  if (w > inner) throw new Error(`${name}: the page is ${w} px wide in a ${inner} px window`);
}

async function login(page, username, password) {
  await page.goto(api + "/console");
  await page.waitForSelector("#login-form");
  // Keyboard only: the username field has focus, Tab to the password, Enter submits.
  await page.keyboard.type(username);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
try {
  const staffContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await staffContext.newPage();
  watch(page, "staff");

  await step("login refused shows the API's message", async () => {
    const wrong = await call("POST", "/auth/login", "", { username: world.staff.username, password: "wrong-password-1" });
    expecting = ["/auth/login", "401"];
    await login(page, world.staff.username, "wrong-password-1");
    await page.waitForFunction(() => document.querySelector("#login-error").textContent.length > 0);
    seen.login_error = await page.textContent("#login-error");
    seen.login_error_expected = wrong.body.error.message;
    expecting = null;
  });

  await step("login as staff", async () => {
    await page.fill("#login-username", "");
    await page.focus("#login-username");
    await page.keyboard.type(world.staff.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(world.staff.password);
    await page.keyboard.press("Enter");
    await page.waitForSelector(".board[data-reloads]");
    await page.waitForSelector("#live-state.up");
    seen.token_in_cookie = (await staffContext.cookies()).length > 0;
    seen.token_in_session_storage = await page.evaluate(() =>
      Object.keys(sessionStorage).some((k) => (sessionStorage.getItem(k) || "").includes("access")));
  });

  const notes = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">ring twice`;
  let first;
  await step("a placed order appears on the board without reload", async () => {
    const t0 = Date.now();
    first = await placeOrder(notes);
    await page.waitForSelector(`.column-pending a.card[data-order-id="${first.id}"]`, { timeout: 10000 });
    seen.board_latency_ms = Date.now() - t0;
    seen.page_loads = await page.evaluate(() => performance.getEntriesByType("navigation").length);
  });

  await step("keyboard reaches the card and opens the order", async () => {
    let found = false;
    for (let i = 0; i < 120 && !found; i++) {
      await page.keyboard.press("Tab");
      found = await page.evaluate((id) => document.activeElement && document.activeElement.dataset
        && document.activeElement.dataset.orderId === String(id), first.id);
    }
    seen.card_reached_by_keyboard = found;
    if (found) await page.keyboard.press("Enter");
    else await page.click(`a.card[data-order-id="${first.id}"]`);
    await page.waitForSelector("#order-status");
  });

  await step("customer text is shown, not run", async () => {
    seen.notes_shown = await page.textContent("#order-notes");
    seen.notes_expected = notes;
    seen.pwned = await page.evaluate(() => window.__pwned === undefined ? null : window.__pwned);
    seen.injected_elements = await page.evaluate(() =>
      document.querySelectorAll("#main script, #main img, #main b").length);
    await page.screenshot({ path: `${outDir}/order-1440.png`, fullPage: true });
  });

  await step("a refused assignment shows the API's message", async () => {
    const refused = await call("POST", `/orders/${first.id}/assign`, world.staff.token, { crew_id: world.busy_crew.id });
    seen.refused_assign_status = refused.status;
    expecting = [`/orders/${first.id}/assign`];
    await page.selectOption("#assign-crew", String(world.busy_crew.id));
    await page.click("#assign-submit");
    await page.waitForSelector("#notice.error:not([hidden])");
    seen.assign_error = await page.textContent("#notice-text");
    seen.assign_error_expected = refused.body.error.message;
    expecting = null;
  });

  await step("assign from the order view; the card moves to assigned", async () => {
    await page.selectOption("#assign-crew", String(world.crew.id));
    await page.click("#assign-submit");
    await page.waitForSelector('#main .order[data-status="assigned"]');
    await page.click('a[href="#/board"]');
    await page.waitForSelector(`.column-assigned a.card[data-order-id="${first.id}"]`, { timeout: 5000 });
    seen.assigned_crew_on_card = (await page.textContent(`a.card[data-order-id="${first.id}"]`)).includes(`#${world.crew.id}`);
  });

  await step("unlock a locked delivery code", async () => {
    await must("POST", `/orders/${first.id}/pickup`, world.crew.token, {}, 200);
    for (let i = 0; i < 5; i++) await call("POST", `/orders/${first.id}/deliver`, world.crew.token, { code: "000000000" });
    seen.locked_answer = (await call("POST", `/orders/${first.id}/deliver`, world.crew.token, { code: first.code })).status;
    await page.goto(`${api}/console#/orders/${first.id}`); // a reload keeps the session (sessionStorage)
    await page.waitForSelector("#code-locked");
    await page.click("#unlock-code");
    await page.waitForSelector("#order-status");
    await page.waitForFunction(() => !document.querySelector("#code-locked") && document.querySelector("#order-status"));
    seen.after_unlock_deliver = (await call("POST", `/orders/${first.id}/deliver`, world.crew.token, { code: first.code })).status;
    await page.waitForSelector('#main .order[data-status="delivered"]', { timeout: 5000 });
  });

  let second;
  await step("cancel with a reason", async () => {
    second = await placeOrder("leave at the door");
    await page.goto(`${api}/console#/orders/${second.id}`);
    await page.waitForSelector("#cancel-form");
    await page.fill("#cancel-note", "Customer called: <i>changed mind</i>");
    await page.click("#cancel-submit");
    await page.waitForSelector('#main .order[data-status="cancelled"]');
    seen.cancel_shown = await page.textContent("#order-cancel");
    await page.click('a[href="#/board"]');
    await page.waitForSelector(`.column-cancelled a.card[data-order-id="${second.id}"]`, { timeout: 5000 });
    seen.cancelled_order = second.id;
  });

  let third;
  await step("actor inspector from the order view", async () => {
    third = await placeOrder("");
    await page.goto(`${api}/console#/orders/${third.id}`);
    await page.click("#inspect-order");
    await page.waitForFunction(() => (document.querySelector("#actor-state") || {}).textContent?.includes('"kind"'));
    const state = JSON.parse(await page.textContent("#actor-state"));
    seen.inspected = { kind: state.kind, id: state.id, status: state.state && state.state.order && state.state.order.status };
    seen.inspected_expected = { kind: "order", id: third.id, status: "pending" };
    await page.waitForSelector('#actor-counts tr[data-kind="order"]');
    seen.live_orders_shown = Number(await page.textContent('#actor-counts tr[data-kind="order"] td[data-field="live"]'));
    const gone = await call("GET", "/admin/actors/order/987654321", world.staff.token);
    expecting = ["/admin/actors/order/987654321"];
    await page.fill("#actor-id", "987654321");
    await page.click("#actor-inspect");
    await page.waitForFunction(() => document.querySelector("#actor-state").textContent !== "…"
      && !document.querySelector("#actor-state").textContent.includes('"kind"'));
    seen.inspect_error = await page.textContent("#notice-text");
    seen.inspect_error_expected = gone.body.error.message;
    expecting = null;
  });

  await step("crews and their positions, live", async () => {
    await page.click('#nav a[href="#/crews"]');
    await page.waitForSelector(`#crew-plot circle[data-crew-id="${world.crew.id}"]`);
    seen.crew_rows = await page.locator("table.crews tbody tr").count();
    seen.crew_circles = await page.locator("#crew-plot circle").count();
    seen.shop_squares = await page.locator("#crew-plot rect").count();
    const circle = `#crew-plot circle[data-crew-id="${world.crew.id}"]`;
    const before = await page.getAttribute(circle, "cx");
    await must("PUT", "/crew/location", world.crew.token, { latitude: 30.09, longitude: 31.30 }, 204);
    await page.waitForFunction(([sel, cx]) => document.querySelector(sel) && document.querySelector(sel).getAttribute("cx") !== cx,
      [circle, before], { timeout: 5000 });
    seen.crew_moved = true;
    seen.crew_position_shown = await page.textContent(`tr[data-crew-id="${world.crew.id}"] .crew-pos`);
    await page.screenshot({ path: `${outDir}/crews-1440.png`, fullPage: true });
  });

  await step("overview figures", async () => {
    await page.click('#nav a[href="#/overview"]');
    await page.waitForSelector('#overview .figure[data-key="pending"]');
    const o = await must("GET", "/staff/overview", world.staff.token, undefined, 200);
    await page.waitForFunction((n) => document.querySelector('#overview .figure[data-key="pending"] .value').textContent === String(n),
      o.orders_by_status.pending, { timeout: 5000 });
    seen.overview_pending = Number(await page.textContent('#overview .figure[data-key="pending"] .value'));
    seen.overview_pending_expected = o.orders_by_status.pending;
  });

  await step("after the stream reconnects the board is re-read", async () => {
    await page.click('#nav a[href="#/board"]');
    await page.waitForSelector("#live-state.up");
    const reloads = Number(await page.getAttribute(".board", "data-reloads"));
    expecting = ["ERR_CONNECTION_REFUSED", "Failed to load resource", "/staff/events", "/api/v1/me"];
    const { order_id } = await ask("restart");
    await page.waitForSelector(`.column-pending a.card[data-order-id="${order_id}"]`, { timeout: 30000 });
    await page.waitForSelector("#live-state.up");
    expecting = null;
    seen.reloads_before_restart = reloads;
    seen.reloads_after_restart = Number(await page.getAttribute(".board", "data-reloads"));
    seen.order_placed_while_away = order_id;
  });

  await step("a refreshed access token re-reads the board", async () => {
    const reloads = () => page.evaluate(() => Number(document.documentElement.dataset.boardReloads));
    const before = await reloads();
    expecting = ["401"];
    const key = await page.evaluate(() => {
      const k = Object.keys(sessionStorage).find((x) => x.startsWith("wassally"));
      const s = JSON.parse(sessionStorage.getItem(k));
      s.access = "expired.token.value";
      sessionStorage.setItem(k, JSON.stringify(s));
      return k;
    });
    // The overview's request gets 401, the console refreshes the token, retries, and re-reads
    // the board (which is not on screen) because the token changed.
    await page.click('#nav a[href="#/overview"]');
    await page.waitForSelector('#overview .figure[data-key="pending"]');
    await page.waitForFunction((n) => Number(document.documentElement.dataset.boardReloads) > n, before, { timeout: 10000 });
    expecting = null;
    const access = await page.evaluate((k) => JSON.parse(sessionStorage.getItem(k)).access, key);
    seen.token_refreshed = access !== "expired.token.value" && (await call("GET", "/me", access)).status === 200;
    seen.reloads_after_refresh = (await reloads()) - before;
    await page.click('#nav a[href="#/board"]');
    await page.waitForSelector(`.column-pending a.card[data-order-id="${seen.order_placed_while_away}"]`);
    await page.screenshot({ path: `${outDir}/board-1440.png`, fullPage: true });
  });

  await step("an order nobody takes is flagged on the board", async () => {
    // pending_alert_s is 3 here: the order placed during the restart is still pending.
    await page.waitForSelector(`.column-pending a.card.unattended[data-order-id="${seen.order_placed_while_away}"]`,
      { timeout: 15000 });
    seen.unattended_flagged = true;
    seen.assigned_not_flagged = (await page.locator(`a.card.unattended[data-order-id="${first.id}"]`).count()) === 0;
  });

  await step("an order offered to a crew names the crew on its card", async () => {
    await page.click('#nav a[href="#/board"]');
    await page.waitForSelector("#live-state.up");
    // A crew that becomes available is offered the oldest pending order near it at once.
    const stamp = String(Date.now());
    const name = `offer.crew.${stamp}`;
    const created = await must("POST", "/staff/crews", world.staff.token,
      { username: name, password: "crew-pass-1", phone_number: `+2015${stamp.slice(-7)}` }, 201);
    const login = await call("POST", "/auth/login", undefined, { username: name, password: "crew-pass-1" });
    const token = login.body.access;
    await must("PUT", "/crew/location", token, { latitude: 30.05, longitude: 31.23 }, 204);
    await must("PUT", "/crew/status", token, { status: "available" }, 200);
    // The other crews may hold offers of every pending order already: this one is new, and
    // the only free crew near it.
    await placeOrder("offered");
    let offer = null;
    for (let i = 0; i < 100 && !offer; i++) {
      const r = await call("GET", "/crew/offer", token);
      if (r.status === 200) offer = r.body;
      else await new Promise((ok) => setTimeout(ok, 50));
    }
    if (!offer) throw new Error("the new crew was offered nothing");
    const badge = `.column-pending a.card[data-order-id="${offer.order_id}"] .badge.offer`;
    await page.waitForSelector(badge, { timeout: 10000 });
    await page.waitForFunction(([sel, crew]) => document.querySelector(sel).textContent.includes(`#${crew}`),
      [badge, created.id], { timeout: 10000 });
    seen.offer_badge = await page.textContent(badge);
    seen.offer_badge_expected = `offered to crew #${created.id}`;
    seen.offer_order = offer.order_id;
    seen.offer_crew = created.id;
    // Declined: the card stops naming this crew (it may name the next one).
    await must("POST", `/orders/${offer.order_id}/decline`, token, {}, 204);
    await page.waitForFunction(([id, crew]) => {
      const b = document.querySelector(`a.card[data-order-id="${id}"] .badge.offer`);
      return !b || !b.textContent.includes(`#${crew}`);
    }, [offer.order_id, created.id], { timeout: 10000 });
    seen.offer_badge_gone_after_decline = true;
    // Offers made before the board was read show too: a re-read takes them from
    // GET /staff/offers.
    await page.reload();
    await page.waitForSelector("#live-state.up");
    const open = await must("GET", "/staff/offers", world.staff.token, undefined, 200);
    const shown = [];
    for (const f of open) {
      const b = `.column-pending a.card[data-order-id="${f.order_id}"] .badge.offer`;
      await page.waitForSelector(b, { timeout: 10000 });
      shown.push((await page.textContent(b)) === `offered to crew #${f.crew_id}`);
    }
    seen.open_offers = open.length;
    seen.open_offers_shown_after_reload = shown.filter(Boolean).length;
  });

  await step("a phone-width screen", async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    for (const [hash, ready, shot] of [["#/board", ".board", "board-375"], [`#/orders/${first.id}`, "#order-status", "order-375"],
      ["#/crews", "#crew-plot circle", "crews-375"], ["#/actors", "#actor-counts", "actors-375"]]) {
      await page.goto(`${api}/console${hash}`);
      await page.waitForSelector(ready);
      await noOverflow(page, hash);
      await page.screenshot({ path: `${outDir}/${shot}.png`, fullPage: true });
    }
    seen.phone_width_ok = true;
  });

  const ownerContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const owner = await ownerContext.newPage();
  watch(owner, "owner");
  await step("a shop owner sees its sales charts", async () => {
    await login(owner, world.owner.username, world.owner.password);
    await owner.waitForSelector(`.view-head[data-loaded="${world.owner.shop_id}"]`);
    const sales = await must("GET", `/shops/${world.owner.shop_id}/analytics/sales?granularity=month`, world.owner.token, undefined, 200);
    const top = await must("GET", `/shops/${world.owner.shop_id}/analytics/top-products?limit=10`, world.owner.token, undefined, 200);
    const chart = (id) => owner.evaluate((i) => {
      const c = window.Chart.getChart(i);
      return c ? { labels: c.data.labels, data: c.data.datasets.map((d) => d.data) } : null;
    }, id);
    seen.sales_chart = await chart("sales-chart");
    seen.sales_expected = { labels: sales.map((p) => p.period), data: [sales.map((p) => Number(p.revenue)), sales.map((p) => Number(p.profit))] };
    seen.top_chart = await chart("top-chart");
    seen.top_expected = { labels: top.map((p) => p.name), data: [top.map((p) => p.quantity)] };
    seen.owner_nav = await owner.locator("#nav a").allTextContents();
    await owner.screenshot({ path: `${outDir}/sales-1440.png`, fullPage: true });
    await owner.selectOption("#sales-granularity", "year");
    await owner.waitForFunction(() => window.Chart.getChart("sales-chart") && window.Chart.getChart("sales-chart").data.labels.length === 5);
    seen.yearly_points = await owner.evaluate(() => window.Chart.getChart("sales-chart").data.labels.length);
    await owner.setViewportSize({ width: 375, height: 812 });
    await owner.waitForTimeout(200);
    await noOverflow(owner, "sales");
    await owner.screenshot({ path: `${outDir}/sales-375.png`, fullPage: true });
  });
} catch (e) {
  seen.failure = String(e && e.stack ? e.stack : e);
  // What the pages showed when it failed.
  seen.failure_pages = [];
  for (const context of browser.contexts())
    for (const p of context.pages()) {
      try {
        seen.failure_pages.push({ url: p.url(), text: (await p.innerText("body")).slice(0, 1500) });
        await p.screenshot({ path: `${outDir}/failure-${seen.failure_pages.length}.png`, fullPage: true });
      } catch (err) {
        seen.failure_pages.push({ error: String(err) });
      }
    }
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(0);
