// One order: items, history, crew, and the staff actions (assign, cancel with a reason, unlock
// a locked delivery code). The view re-reads the order when the board hears it changed.

import { get, post } from "./api.js";
import { clear, debounce, h, statusBadge, when } from "./dom.js";
import { subscribe } from "./live.js";
import { notify } from "./notice.js";

const OPEN = ["pending", "assigned"];

function crewName(crews, id) {
  const c = crews.find((x) => x.id === id);
  return c ? `${c.username} (#${id})` : `#${id}`;
}

export function mountOrder(main, { id }) {
  const box = h("section", { class: "order", "aria-live": "polite" });
  main.append(
    h("div", { class: "view-head" },
      h("a", { href: "#/board", class: "back" }, "← Board"),
      h("h1", { tabindex: "-1" }, `Order #${id}`)),
    box,
  );
  let alive = true;
  let shown = "";

  async function load() {
    try {
      const [order, history, crews] = await Promise.all([
        get(`/orders/${id}`),
        get(`/orders/${id}/history`),
        get("/staff/crews?page_size=100"),
      ]);
      if (!alive) return;
      // Events re-read the order; the view is rebuilt only when something shown changed, and
      // what the user typed or chose survives a rebuild.
      const fingerprint = JSON.stringify([order, history, crews.results]);
      if (fingerprint === shown) return;
      shown = fingerprint;
      const typed = box.querySelector("#cancel-note");
      const chosen = box.querySelector("#assign-crew");
      const focused = box.contains(document.activeElement) ? document.activeElement.id : "";
      render(order, history, crews.results);
      if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
      const note = box.querySelector("#cancel-note");
      if (typed && note) note.value = typed.value;
      const select = box.querySelector("#assign-crew");
      if (chosen && select && chosen.value) select.value = chosen.value;
    } catch (err) {
      if (!alive) return;
      clear(box).append(h("p", { class: "error" }, err.message));
      notify(err.message, "error");
    }
  }

  async function act(what, path, body, done) {
    try {
      const order = await post(path, body);
      notify(`Order #${id}: ${what} (${order.status}).`, "info");
      if (done) done();
      await load();
    } catch (err) {
      notify(err.message, "error");
    }
  }

  function render(o, history, crews) {
    clear(box);
    box.dataset.status = o.status;
    box.append(
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "order-status" }, statusBadge(o.status)),
        h("dt", {}, "Type"), h("dd", {}, o.type === "delivery_request" ? "Delivery request" : "Order"),
        h("dt", {}, "Customer"), h("dd", {}, `user #${o.user_id}`),
        h("dt", {}, "Receiver"), h("dd", {}, o.receiver_name, " · ", o.receiver_phone),
        h("dt", {}, "Address"), h("dd", {}, o.location.address,
          ` (${o.location.latitude}, ${o.location.longitude})`),
        h("dt", {}, "Notes"), h("dd", { id: "order-notes", class: "notes" }, o.notes || "—"),
        h("dt", {}, "Crew"), h("dd", { id: "order-crew" }, o.crew_id ? crewName(crews, o.crew_id) : "none yet"),
        o.crew_location ? [h("dt", {}, "Crew position"), h("dd", { id: "order-crew-location" },
          `${o.crew_location.latitude.toFixed(5)}, ${o.crew_location.longitude.toFixed(5)} at ${when(o.crew_location.at)}`)] : null,
        o.eta ? [h("dt", {}, "Arrives"), h("dd", { id: "order-eta" }, when(o.eta))] : null,
        h("dt", {}, "Code"), h("dd", { id: "order-code" }, o.code || "—",
          o.code_locked ? h("span", { class: "badge locked", id: "code-locked" }, "locked") : null),
        o.cancel_reason ? [h("dt", {}, "Cancelled"), h("dd", { id: "order-cancel" },
          o.cancel_reason, o.cancel_note ? ` — ${o.cancel_note}` : "")] : null,
        h("dt", {}, "Placed"), h("dd", {}, when(o.created_at)),
        h("dt", {}, "Total"), h("dd", {}, `${o.items_total} + ${o.delivery_fee} delivery = ${o.total}`)),
    );

    if (o.items.length) {
      box.append(h("div", { class: "scroll" },
        h("table", { class: "items" },
          h("caption", {}, "Items"),
          h("thead", {}, h("tr", {}, ["Product", "Shop", "Qty", "Price", "Total", "Bought"]
            .map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, o.items.map((i) => h("tr", {},
            h("td", {}, i.name), h("td", {}, `#${i.shop_id}`), h("td", {}, String(i.quantity)),
            h("td", {}, i.unit_price), h("td", {}, i.line_total),
            h("td", {}, i.is_bought ? "yes" : "no")))))));
    }

    box.append(h("h2", {}, "History"),
      h("ol", { class: "history", id: "order-history" }, history.map((e) => h("li", {},
        statusBadge(e.status), ` ${when(e.at)}`,
        e.by_user_id ? ` by user #${e.by_user_id}` : "",
        e.cancel_note ? ` — ${e.cancel_note}` : ""))));

    const actions = h("div", { class: "actions" });
    if (OPEN.includes(o.status)) {
      const select = h("select", { id: "assign-crew", name: "crew_id", required: true },
        h("option", { value: "" }, "Choose a crew…"),
        crews.map((c) => h("option", { value: c.id },
          `${c.username} (#${c.id}, ${c.status}, ${c.current_order_ids.length} held)`)));
      actions.append(h("form", {
        class: "action", id: "assign-form",
        onsubmit: (ev) => {
          ev.preventDefault();
          if (!select.value) return;
          const crewId = Number(select.value);
          act(o.status === "pending" ? "assigned" : "reassigned", `/orders/${id}/assign`,
            { crew_id: crewId });
        },
      },
      h("label", { for: "assign-crew" }, o.status === "pending" ? "Assign to" : "Reassign to"),
      select,
      h("button", { type: "submit", id: "assign-submit" }, o.status === "pending" ? "Assign" : "Reassign")));

      const reason = h("textarea", {
        id: "cancel-note", name: "note", rows: "2", maxlength: "500", required: true,
        placeholder: "Why (the customer sees this)",
      });
      actions.append(h("form", {
        class: "action", id: "cancel-form",
        onsubmit: (ev) => {
          ev.preventDefault();
          act("cancelled", `/orders/${id}/cancel`, { note: reason.value.trim() });
        },
      },
      h("label", { for: "cancel-note" }, "Cancel with a reason"),
      reason,
      h("button", { type: "submit", id: "cancel-submit", class: "danger" }, "Cancel order")));
    }
    if (o.code_locked) {
      actions.append(h("div", { class: "action" },
        h("p", {}, "Delivery is locked after 5 wrong codes."),
        h("button", {
          type: "button", id: "unlock-code",
          onclick: () => act("delivery code unlocked", `/orders/${id}/unlock-code`),
        }, "Unlock the delivery code")));
    }
    actions.append(h("p", {}, h("a", { href: `#/actors/order/${id}`, id: "inspect-order" },
      "Inspect this order's actor")));
    box.append(h("h2", {}, "Actions"), actions);
  }

  const reload = debounce(load, 150);
  const off = subscribe("order", (o) => {
    if (o.id === Number(id)) reload();
  });
  load();
  return () => {
    alive = false;
    off();
  };
}
