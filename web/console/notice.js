// The one message line of the page: API errors show the server's `message` here.

const box = () => document.getElementById("notice");
let timer = null;

/** kind "error" stays until dismissed or replaced; "info" goes after 6 s. */
export function notify(message, kind = "info") {
  const el = box();
  document.getElementById("notice-text").textContent = message;
  el.className = `notice ${kind}`;
  el.hidden = false;
  clearTimeout(timer);
  if (kind !== "error") timer = setTimeout(() => (el.hidden = true), 6000);
}

export function dismiss() {
  box().hidden = true;
}
