// The actor inspector: live actors per kind (GET /admin/actors) and one actor's state.

import { get } from "./api.js";
import { clear, h } from "./dom.js";
import { notify } from "./notice.js";

const KINDS = ["order", "shop", "crew", "cart"];

export function mountActors(main, params) {
  const counts = h("div", { class: "scroll" });
  const state = h("pre", { class: "state", id: "actor-state", tabindex: "0" });
  const kind = h("select", { id: "actor-kind", name: "kind" },
    KINDS.map((k) => h("option", { value: k, selected: params.kind === k }, k)));
  const id = h("input", { id: "actor-id", name: "id", type: "number", min: "1", required: true,
    value: params.id || "" });
  main.append(
    h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Actors"),
      h("button", { type: "button", onclick: () => loadCounts() }, "Refresh")),
    counts,
    h("form", { class: "action inline", id: "actor-form", onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = `#/actors/${kind.value}/${id.value}`;
    } },
    h("label", { for: "actor-kind" }, "Kind"), kind,
    h("label", { for: "actor-id" }, "Id"), id,
    h("button", { type: "submit", id: "actor-inspect" }, "Inspect")),
    state,
  );

  async function loadCounts() {
    try {
      const a = await get("/admin/actors");
      const columns = [...new Set(Object.values(a.kinds).flatMap((v) => Object.keys(v)))];
      clear(counts).append(h("table", { class: "actor-counts", id: "actor-counts" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "kind"),
          columns.map((c) => h("th", { scope: "col" }, c.replaceAll("_", " "))))),
        h("tbody", {}, Object.entries(a.kinds).map(([k, v]) => h("tr", { dataset: { kind: k } },
          h("th", { scope: "row" }, k), columns.map((c) => h("td", { dataset: { field: c } },
            String(v[c] ?? "—"))))))),
      h("dl", { class: "facts" }, Object.entries(a)
        .filter(([k]) => k !== "kinds")
        .flatMap(([k, v]) => Object.entries(v).map(([f, n]) => [h("dt", {}, `${k} ${f.replaceAll("_", " ")}`),
          h("dd", {}, String(n))]))));
    } catch (err) {
      notify(err.message, "error");
    }
  }

  async function inspect() {
    if (!params.kind || !params.id) return;
    state.textContent = "…";
    try {
      const s = await get(`/admin/actors/${encodeURIComponent(params.kind)}/${encodeURIComponent(params.id)}`);
      state.textContent = JSON.stringify(s, null, 2);
    } catch (err) {
      state.textContent = err.message;
      notify(err.message, "error");
    }
  }

  loadCounts();
  inspect();
}
