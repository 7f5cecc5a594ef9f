// What the staff views share: the orders on the board and the crews, kept current by
// GET /staff/events and re-read through the list endpoints whenever the stream (re)opens or the
// access token is refreshed (events sent while the console was away are not replayed).

import { get, onTokenRefreshed, openStream } from "./api.js";

export const STATUSES = ["pending", "assigned", "picked_up", "delivered", "cancelled"];
const FINAL_SHOWN = 30; // delivered / cancelled cards kept on the board
const RANK = { pending: 0, assigned: 1, picked_up: 2, delivered: 3, cancelled: 3 };

export const live = {
  orders: new Map(), // id → order summary {id, status, crew_id, receiver_name, total, at, ...}
  counts: {}, // status → number of orders (from the lists, moved by events)
  crews: new Map(), // id → {id, status, latitude, longitude, at}
  unattended: new Map(), // order id → pending_since, from event: order_unattended (while pending)
  offers: new Map(), // order id → {crew_id, expires_at}, from event: offer (until it ends)
  reloads: 0,
  connected: false,
};

const listeners = { board: new Set(), order: new Set(), crew: new Set(), connection: new Set() };

/** fn(detail) on "board" (re-read), "order" (one order changed), "crew", "connection". */
export function subscribe(kind, fn) {
  listeners[kind].add(fn);
  return () => listeners[kind].delete(fn);
}

function emit(kind, detail) {
  for (const fn of [...listeners[kind]]) fn(detail);
}

let stream = null;
let reloading = null;
let pendingEvents = [];

export function startLive() {
  if (stream) return;
  onTokenRefreshed(() => reloadBoard());
  stream = openStream(
    "/staff/events",
    {
      order: (e) => (reloading ? pendingEvents.push(e) : applyOrderEvent(e)),
      crew: applyCrewEvent,
      order_unattended: applyUnattended,
      offer: applyOffer,
      offer_withdrawn: applyOfferEnded,
    },
    {
      onOpen: () => {
        live.connected = true;
        emit("connection", true);
        reloadBoard();
      },
      onDown: () => {
        live.connected = false;
        emit("connection", false);
      },
    },
  );
}

export function stopLive() {
  if (stream) stream.close();
  stream = null;
  live.orders.clear();
  live.crews.clear();
  live.connected = false;
}

function summary(o) {
  return {
    id: o.id,
    status: o.status,
    crew_id: o.crew_id,
    type: o.type,
    receiver_name: o.receiver_name,
    total: o.total,
    items: o.items ? o.items.length : 0,
    created_at: o.created_at,
    at: o.updated_at || o.created_at,
  };
}

/** Re-reads every column through GET /orders; events arriving meanwhile are applied after. */
export function reloadBoard() {
  if (reloading) return reloading;
  pendingEvents = [];
  reloading = (async () => {
    try {
      const [offers, ...pages] = await Promise.all([
        get("/staff/offers"),
        ...STATUSES.map((s) =>
          get(`/orders?status=${s}&page_size=${RANK[s] === 3 ? FINAL_SHOWN : 100}`),
        ),
      ]);
      live.orders.clear();
      live.offers.clear();
      for (const f of offers) live.offers.set(f.order_id, { crew_id: f.crew_id, expires_at: f.expires_at });
      STATUSES.forEach((s, i) => {
        live.counts[s] = pages[i].count;
        for (const o of pages[i].results) live.orders.set(o.id, summary(o));
      });
      live.reloads += 1;
      document.documentElement.dataset.boardReloads = String(live.reloads);
    } finally {
      reloading = null;
    }
    const queued = pendingEvents;
    pendingEvents = [];
    emit("board", { reloads: live.reloads });
    for (const e of queued) applyOrderEvent(e);
  })();
  reloading.catch((err) => emit("board", { error: err }));
  return reloading;
}

async function applyOrderEvent(e) {
  const known = live.orders.get(e.order_id);
  if (known) {
    const newer = e.at > known.at || (e.at === known.at && RANK[e.status] >= RANK[known.status]);
    if (!newer) return;
    if (known.status !== e.status) {
      live.counts[known.status] = Math.max(0, (live.counts[known.status] || 0) - 1);
      live.counts[e.status] = (live.counts[e.status] || 0) + 1;
    }
    Object.assign(known, { status: e.status, crew_id: e.crew_id, at: e.at });
    if (e.status !== "pending") {
      live.unattended.delete(known.id);
      live.offers.delete(known.id);
    }
    emit("order", known);
    return;
  }
  try {
    const o = await get(`/orders/${e.order_id}`);
    if (live.orders.has(o.id)) return; // a re-read got it meanwhile
    live.orders.set(o.id, summary(o));
    live.counts[o.status] = (live.counts[o.status] || 0) + 1;
    emit("order", live.orders.get(o.id));
  } catch {
    // Gone or not visible: nothing to show.
  }
}

/** Nobody took the order for pending_alert_s: flagged on the board until it leaves pending. */
function applyUnattended(e) {
  live.unattended.set(e.order_id, e.pending_since);
  const known = live.orders.get(e.order_id);
  if (known) emit("order", known);
  else applyOrderEvent({ order_id: e.order_id, status: "pending", at: e.pending_since });
}

/** The order is offered to a crew now (shown on its card until the offer ends). Every re-read
 * of the board also re-reads the open offers (GET /staff/offers). */
function applyOffer(e) {
  live.offers.set(e.order_id, { crew_id: e.crew_id, expires_at: e.expires_at });
  const known = live.orders.get(e.order_id);
  if (known) emit("order", known);
}

function applyOfferEnded(e) {
  const o = live.offers.get(e.order_id);
  if (!o || o.crew_id !== e.crew_id) return; // a later offer already replaced it
  live.offers.delete(e.order_id);
  const known = live.orders.get(e.order_id);
  if (known) emit("order", known);
}

function applyCrewEvent(e) {
  const c = live.crews.get(e.crew_id) || { id: e.crew_id };
  Object.assign(c, {
    status: e.status,
    latitude: e.latitude,
    longitude: e.longitude,
    at: e.at,
  });
  live.crews.set(e.crew_id, c);
  emit("crew", c);
}
