// Crews: the list with status and holdings, and a live plot of crew and shop positions (SVG,
// no tile server: positions relative to each other, north up).

import { get } from "./api.js";
import { clear, h, when } from "./dom.js";
import { live, subscribe } from "./live.js";
import { notify } from "./notice.js";

const W = 1000;
const H = 600;

export function mountCrews(main) {
  const table = h("tbody");
  const plot = h("svg:svg", {
    viewBox: `0 0 ${W} ${H}`, class: "plot", id: "crew-plot", role: "img",
    "aria-label": "Positions of crews (circles) and shops (squares)",
  });
  main.append(
    h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Crews")),
    h("div", { class: "plot-wrap" }, plot,
      h("p", { class: "legend" },
        h("span", { class: "key crew-available" }, "available"),
        h("span", { class: "key crew-offline" }, "offline"),
        h("span", { class: "key shop" }, "shop"))),
    h("div", { class: "scroll" }, h("table", { class: "crews" },
      h("thead", {}, h("tr", {}, ["Crew", "Status", "Position", "Last seen", "Orders",
        "Deliveries", "Coins"].map((t) => h("th", { scope: "col" }, t)))),
      table)),
  );
  let crews = [];
  let shops = [];
  let project = null;

  function bounds() {
    const pts = [...crews, ...shops.map((s) => s.location)]
      .filter((p) => p && p.latitude !== undefined && p.latitude !== null);
    if (!pts.length) return null;
    let [s, n, w, e] = [90, -90, 180, -180];
    for (const p of pts) {
      s = Math.min(s, p.latitude); n = Math.max(n, p.latitude);
      w = Math.min(w, p.longitude); e = Math.max(e, p.longitude);
    }
    const k = Math.cos(((s + n) / 2) * Math.PI / 180) || 1;
    // At least ~1 km across, 10 % margin, same scale both ways.
    const spanX = Math.max((e - w) * k, 0.01) * 1.2;
    const spanY = Math.max(n - s, 0.01) * 1.2;
    const scale = Math.min(W / spanX, H / spanY);
    const cx = (w + e) / 2;
    const cy = (s + n) / 2;
    return (lat, lng) => [W / 2 + (lng - cx) * k * scale, H / 2 - (lat - cy) * scale];
  }

  function draw() {
    clear(plot);
    project = bounds();
    if (!project) {
      plot.append(h("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No positions yet"));
      return;
    }
    for (const s of shops) {
      const [x, y] = project(s.location.latitude, s.location.longitude);
      plot.append(h("svg:rect", { class: "shop", x: x - 7, y: y - 7, width: 14, height: 14,
        dataset: { shopId: s.id } }, h("svg:title", {}, s.name)),
      h("svg:text", { x: x + 11, y: y + 5, class: "label" }, s.name));
    }
    for (const c of crews) {
      if (c.latitude === null || c.latitude === undefined) continue;
      const [x, y] = project(c.latitude, c.longitude);
      plot.append(h("svg:circle", { class: `crew crew-${c.status}`, cx: x, cy: y, r: 9,
        dataset: { crewId: c.id } }, h("svg:title", {}, `${c.username} (${c.status})`)),
      h("svg:text", { x: x + 12, y: y + 5, class: "label" }, c.username));
    }
  }

  function row(c) {
    return h("tr", { dataset: { crewId: c.id } },
      h("th", { scope: "row" }, c.username, ` #${c.id}`),
      h("td", { class: "crew-status" }, c.status),
      h("td", { class: "crew-pos" }, c.latitude === null || c.latitude === undefined ? "—"
        : `${c.latitude.toFixed(5)}, ${c.longitude.toFixed(5)}`),
      h("td", { class: "crew-seen" }, when(c.last_seen)),
      h("td", {}, c.current_order_ids.length
        ? c.current_order_ids.map((id, i) => [i ? ", " : "", h("a", { href: `#/orders/${id}` }, `#${id}`)])
        : "—"),
      h("td", {}, String(c.number_of_deliveries)),
      h("td", {}, String(c.coins)));
  }

  function render() {
    clear(table).append(...crews.map(row));
    draw();
  }

  async function load() {
    try {
      const [c, s] = await Promise.all([get("/staff/crews?page_size=100"), get("/shops?page_size=100")]);
      crews = c.results.map((x) => ({ ...x, latitude: x.location ? x.location.latitude : null,
        longitude: x.location ? x.location.longitude : null }));
      shops = s.results;
      render();
    } catch (err) {
      notify(err.message, "error");
    }
  }

  const off = [
    subscribe("crew", (e) => {
      const c = crews.find((x) => x.id === e.id);
      if (!c) return void load();
      Object.assign(c, { status: e.status, latitude: e.latitude, longitude: e.longitude, last_seen: e.at });
      const old = table.querySelector(`tr[data-crew-id="${c.id}"]`);
      if (old) old.replaceWith(row(c));
      draw();
    }),
    subscribe("board", () => load()),
  ];
  load();
  return () => off.forEach((f) => f());
}
