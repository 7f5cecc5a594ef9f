// A shop's sales: revenue and profit per month or year, and its top products, drawn with
// Chart.js (web/package.json), with the same figures as a table for keyboards and readers.

import { get } from "./api.js";
import { clear, h } from "./dom.js";
import { notify } from "./notice.js";

const charts = [];

function chart(canvas, config) {
  // window.Chart comes from chart.umd.min.js, loaded before the modules.
  const c = new window.Chart(canvas, {
    ...config,
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
  });
  charts.push(c);
  return c;
}

export function mountSales(main, params, user) {
  const shopSelect = h("select", { id: "sales-shop", name: "shop" });
  const granularity = h("select", { id: "sales-granularity", name: "granularity" },
    h("option", { value: "month" }, "by month"), h("option", { value: "year" }, "by year"));
  const summary = h("section", { class: "figures", id: "sales-summary" });
  const salesCanvas = h("canvas", { id: "sales-chart", role: "img", "aria-label": "Revenue and profit per period" });
  const topCanvas = h("canvas", { id: "top-chart", role: "img", "aria-label": "Top products by quantity" });
  const salesTable = h("div", { class: "scroll" });
  const topTable = h("div", { class: "scroll" });
  main.append(
    h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Sales"),
      h("label", { for: "sales-shop" }, "Shop"), shopSelect,
      h("label", { for: "sales-granularity" }, "Periods"), granularity),
    summary,
    h("h2", {}, "Revenue and profit"),
    h("div", { class: "chart" }, salesCanvas),
    h("details", {}, h("summary", {}, "Figures"), salesTable),
    h("h2", {}, "Top products"),
    h("div", { class: "chart" }, topCanvas),
    h("details", {}, h("summary", {}, "Figures"), topTable),
  );

  function destroyCharts() {
    while (charts.length) charts.pop().destroy();
  }

  function table(rows, columns) {
    return h("table", {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, String(r[c])))))));
  }

  async function load() {
    const shop = shopSelect.value;
    if (!shop) return;
    try {
      const [sales, top, sum] = await Promise.all([
        get(`/shops/${shop}/analytics/sales?granularity=${granularity.value}`),
        get(`/shops/${shop}/analytics/top-products?limit=10`),
        get(`/shops/${shop}/analytics/summary`),
      ]);
      destroyCharts();
      clear(summary).append(
        ...[["Orders today", sum.orders_today], ["Revenue today", sum.revenue_today],
          ["Revenue this month", sum.revenue_month], ["Revenue this year", sum.revenue_year],
          ["Top product", sum.top_product ? sum.top_product.name : "—"]]
          .map(([l, v]) => h("div", { class: "figure" }, h("span", { class: "value" }, String(v)),
            h("span", { class: "label" }, l))));
      chart(salesCanvas, {
        type: "bar",
        data: {
          labels: sales.map((p) => p.period),
          datasets: [
            { label: "Revenue", data: sales.map((p) => Number(p.revenue)), backgroundColor: "#2f6fde" },
            { label: "Profit", data: sales.map((p) => Number(p.profit)), backgroundColor: "#22a06b" },
          ],
        },
      });
      chart(topCanvas, {
        type: "bar",
        data: {
          labels: top.map((p) => p.name),
          datasets: [{ label: "Quantity sold", data: top.map((p) => p.quantity), backgroundColor: "#e07b24" }],
        },
        options: { indexAxis: "y" },
      });
      clear(salesTable).append(table(sales, ["period", "orders", "quantity", "revenue", "cost", "profit"]));
      clear(topTable).append(table(top, ["name", "quantity", "revenue"]));
      main.querySelector(".view-head").dataset.loaded = shop;
    } catch (err) {
      notify(err.message, "error");
    }
  }

  async function shops() {
    try {
      let list;
      if (user.role === "shop_owner") {
        const me = await get("/me");
        list = await Promise.all(me.shop_ids.map((id) => get(`/shops/${id}`)));
      } else {
        list = (await get("/shops?page_size=100")).results;
      }
      shopSelect.append(...list.map((s) => h("option", { value: s.id, selected: String(s.id) === params.shop },
        `${s.name} (#${s.id})`)));
      if (!list.length) summary.append(h("p", {}, "No shop to show."));
      load();
    } catch (err) {
      notify(err.message, "error");
    }
  }

  shopSelect.addEventListener("change", () => (location.hash = `#/sales/${shopSelect.value}`));
  granularity.addEventListener("change", load);
  shops();
  return destroyCharts;
}
