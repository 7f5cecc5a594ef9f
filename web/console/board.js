// The live order board: a column per status; a card moves when its order's status changes.

import { live, reloadBoard, STATUSES, subscribe } from "./live.js";
import { clear, h, STATUS_LABELS, when } from "./dom.js";

export function mountBoard(main) {
  const columns = {};
  const board = h("section", { class: "board", "aria-label": "Orders by status" });
  for (const s of STATUSES) {
    const count = h("span", { class: "count" }, "0");
    const list = h("ol", { class: "cards" });
    columns[s] = { count, list };
    board.append(
      h("div", { class: `column column-${s}`, dataset: { status: s } },
        h("h2", {}, STATUS_LABELS[s], " ", count),
        list),
    );
  }
  const state = h("span", { class: "live-state", id: "live-state" });
  main.append(
    h("div", { class: "view-head" },
      h("h1", { tabindex: "-1" }, "Orders"),
      state,
      h("button", { type: "button", id: "board-reload", onclick: () => reloadBoard() }, "Re-read")),
    board,
  );

  function card(o) {
    const unattended = o.status === "pending" && live.unattended.has(o.id);
    return h("li", { dataset: { orderId: o.id } },
      h("a", { class: unattended ? "card unattended" : "card", href: `#/orders/${o.id}`, dataset: { orderId: o.id } },
        unattended ? h("span", { class: "badge alert" }, "nobody took it") : null,
        h("span", { class: "card-id" }, `#${o.id}`),
        o.type === "delivery_request" ? h("span", { class: "tag" }, "delivery") : null,
        h("span", { class: "card-name" }, o.receiver_name),
        h("span", { class: "card-meta" }, `${o.total} · ${when(o.created_at)}`),
        o.crew_id ? h("span", { class: "card-crew" }, `crew #${o.crew_id}`) : null,
        offerBadge(o)));
  }

  function offerBadge(o) {
    const offer = o.status === "pending" && live.offers.get(o.id);
    if (!offer) return null;
    return h("span", { class: "badge offer", title: `until ${when(offer.expires_at)}` },
      `offered to crew #${offer.crew_id}`);
  }

  function placeCard(o) {
    const old = board.querySelector(`li[data-order-id="${o.id}"]`);
    // A card rebuilt while it has the keyboard focus (an offer made or ended, a status change)
    // keeps it: Enter still opens the order.
    const focused = old && old.contains(document.activeElement);
    if (old) old.remove();
    const list = columns[o.status] && columns[o.status].list;
    if (!list) return;
    const el = card(o);
    // Newest first, as the lists come.
    const after = [...list.children].find((li) => Number(li.dataset.orderId) < o.id);
    list.insertBefore(el, after || null);
    el.classList.add("moved");
    if (focused) el.querySelector("a.card").focus();
  }

  function counts() {
    for (const s of STATUSES) columns[s].count.textContent = String(live.counts[s] || 0);
    board.dataset.reloads = String(live.reloads);
  }

  function renderAll() {
    const active = document.activeElement;
    const focusedId = board.contains(active) && active.dataset ? active.dataset.orderId : null;
    for (const s of STATUSES) clear(columns[s].list);
    const sorted = [...live.orders.values()].sort((a, b) => b.id - a.id);
    for (const o of sorted) columns[o.status].list.append(card(o));
    counts();
    const again = focusedId && board.querySelector(`a.card[data-order-id="${focusedId}"]`);
    if (again) again.focus();
  }

  function connection(up) {
    state.textContent = up ? "live" : "reconnecting…";
    state.className = `live-state ${up ? "up" : "down"}`;
  }

  renderAll();
  connection(live.connected);
  const off = [
    subscribe("board", (d) => (d.error ? null : renderAll())),
    subscribe("order", (o) => {
      placeCard(o);
      counts();
    }),
    subscribe("connection", connection),
  ];
  return () => off.forEach((f) => f());
}
