// The overview figures (GET /staff/overview), re-read a moment after any order changes.

import { get } from "./api.js";
import { clear, debounce, h, STATUS_LABELS } from "./dom.js";
import { subscribe } from "./live.js";
import { notify } from "./notice.js";

export function mountOverview(main) {
  const box = h("section", { class: "figures", id: "overview" });
  main.append(h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Overview")), box);

  function figure(label, value, key) {
    return h("div", { class: "figure", dataset: { key } }, h("span", { class: "value" }, value),
      h("span", { class: "label" }, label));
  }

  async function load() {
    try {
      const o = await get("/staff/overview");
      clear(box).append(
        ...Object.entries(o.orders_by_status).map(([s, n]) => figure(STATUS_LABELS[s] || s, String(n), s)),
        figure("Active crews", String(o.active_crews), "active_crews"),
        figure("Orders in the last hour", String(o.orders_last_hour), "orders_last_hour"),
        figure("Revenue today", o.revenue_today, "revenue_today"),
      );
    } catch (err) {
      notify(err.message, "error");
    }
  }
  const off = subscribe("order", debounce(load, 500));
  load();
  return off;
}
