// The console's entry: log in, the sections a role may use, and hash routes
// (#/board, #/orders/12, #/crews, #/overview, #/actors/order/12, #/sales/3).

import { login, logout, onSessionEnded, session } from "./api.js";
import { clear, h } from "./dom.js";
import { mountActors } from "./actors.js";
import { mountBoard } from "./board.js";
import { mountCrews } from "./crews.js";
import { startLive, stopLive, subscribe } from "./live.js";
import { dismiss, notify } from "./notice.js";
import { mountOrder } from "./order_view.js";
import { mountOverview } from "./overview.js";
import { mountSales } from "./sales.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

const SECTIONS = {
  staff: [["#/board", "Board"], ["#/crews", "Crews"], ["#/overview", "Overview"],
    ["#/actors", "Actors"], ["#/sales", "Sales"]],
  shop_owner: [["#/sales", "Sales"]],
};

const ROUTES = [
  [/^#\/board$/, () => mountBoard(main), "staff"],
  [/^#\/orders\/(\d+)$/, (m) => mountOrder(main, { id: m[1] }), "staff"],
  [/^#\/crews$/, () => mountCrews(main), "staff"],
  [/^#\/overview$/, () => mountOverview(main), "staff"],
  [/^#\/actors(?:\/(\w+)\/(\d+))?$/, (m) => mountActors(main, { kind: m[1], id: m[2] }), "staff"],
  [/^#\/sales(?:\/(\d+))?$/, (m, user) => mountSales(main, { shop: m[1] }, user), "any"],
];

let unmount = null;

function showLogin(message) {
  stopLive();
  if (unmount) unmount();
  unmount = null;
  nav.hidden = true;
  clear(who);
  const error = h("p", { class: "error", id: "login-error", role: "alert" }, message || "");
  const user = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "login-password", name: "password", type: "password",
    autocomplete: "current-password", required: true });
  const form = h("form", { class: "login", id: "login-form", onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      const u = await login(user.value, pass.value);
      start(u);
    } catch (err) {
      error.textContent = err.message;
    }
  } },
  h("h1", {}, "Log in"),
  h("p", {}, "Staff see the live board, crews and actors; shop owners their sales."),
  h("label", { for: "login-username" }, "Username"), user,
  h("label", { for: "login-password" }, "Password"), pass,
  error,
  h("button", { type: "submit", id: "login-submit" }, "Log in"));
  clear(main).append(form);
  user.focus();
}

function start(user) {
  const sections = SECTIONS[user.role];
  clear(who).append(h("span", { id: "who-name" }, `${user.username} (${user.role.replace("_", " ")})`),
    h("button", { type: "button", id: "logout", onclick: async () => {
      await logout();
      showLogin("Logged out.");
    } }, "Log out"));
  if (!sections) {
    clear(main).append(h("p", { class: "error" },
      "This console is for staff and shop owners; use the app for your account."));
    return;
  }
  clear(nav).append(...sections.map(([href, label]) => h("a", { href }, label)));
  nav.hidden = false;
  if (user.role === "staff") startLive();
  if (!location.hash || location.hash === "#/") location.hash = sections[0][0];
  else route();
}

function route() {
  const s = session();
  if (!s) return;
  const hash = location.hash || "#/";
  if (unmount) unmount();
  unmount = null;
  clear(main);
  dismiss();
  for (const a of nav.querySelectorAll("a")) {
    if (hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const [pattern, mount, role] of ROUTES) {
    const m = hash.match(pattern);
    if (!m) continue;
    if (role === "staff" && s.user.role !== "staff") break;
    unmount = mount(m, s.user) || null;
    const heading = main.querySelector("h1");
    if (heading && document.activeElement === document.body) heading.focus();
    return;
  }
  const sections = SECTIONS[s.user.role];
  if (sections) location.hash = sections[0][0];
}

window.addEventListener("hashchange", route);
document.getElementById("notice-close").addEventListener("click", dismiss);
onSessionEnded((message) => showLogin(message));
subscribe("board", (d) => d.error && notify(d.error.message, "error"));

const s = session();
if (s) start(s.user);
else showLogin();
