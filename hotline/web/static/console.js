// Live updates (Server-Sent Events from /console/live) and deadline countdowns. No framework.
"use strict";

function formatDuration(seconds) {
  const s = Math.abs(Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${m}:${ss}`;
}

function tick() {
  const now = Date.now();
  document.querySelectorAll("[data-due]").forEach((el) => {
    const left = (Date.parse(el.dataset.due) - now) / 1000;
    const late = el.dataset.late || (document.documentElement.lang === "en" ? "late by" : "terlambat");
    el.textContent = left >= 0 ? formatDuration(left) : `${late} ${formatDuration(left)}`;
    el.classList.toggle("late", left < 0);
  });
  document.querySelectorAll("[data-since]").forEach((el) => {
    el.textContent = formatDuration((now - Date.parse(el.dataset.since)) / 1000);
  });
}

// The edit form: a field the operator has not touched takes the fresh value (and its base); a touched one
// keeps what was typed and its old base, so saving it is checked against what changed meanwhile.
function refreshForm(form, fresh) {
  let touched = false;
  form.querySelectorAll("[data-field]").forEach((el) => {
    const base = form.elements["base_" + el.name];
    const freshField = fresh.elements[el.name];
    const freshBase = fresh.elements["base_" + el.name];
    if (!base || !freshField || !freshBase) return;
    if (el.value === base.value) {
      el.value = freshBase.value;
      base.value = freshBase.value;
    } else {
      touched = true;
    }
  });
  if (!touched && form.elements.version && fresh.elements.version) form.elements.version.value = fresh.elements.version.value;
}

// Every live part of the page ([data-live-part] and #live-region) is swapped for the server's fresh copy.
async function refreshLiveParts() {
  const parts = document.querySelectorAll("#live-region, [data-live-part]");
  const form = document.getElementById("edit-form");
  if (!parts.length && !form) return;
  const anchor = document.querySelector("[data-refresh-url]");
  const url = anchor ? anchor.dataset.refreshUrl : window.location.href;
  const response = await fetch(url, { headers: { "X-Live-Refresh": "1" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  parts.forEach((part) => {
    const fresh = part.id ? page.getElementById(part.id) : null;
    if (fresh) part.innerHTML = fresh.innerHTML;
  });
  const freshForm = page.getElementById("edit-form");
  if (form && freshForm) refreshForm(form, freshForm);
  tick();
}

function connect() {
  if (document.body.dataset.live !== "on" || !window.EventSource) return;
  const status = document.getElementById("live-status");
  const source = new EventSource("/console/live");
  source.addEventListener("open", () => { if (status) status.dataset.state = "on"; });
  source.addEventListener("error", () => { if (status) status.dataset.state = "off"; });
  source.addEventListener("queue", (event) => {
    const queue = document.getElementById("queue");
    if (queue) {
      queue.innerHTML = event.data;
      tick();
    }
  });
  source.addEventListener("tickets", () => {
    refreshLiveParts();
    document.dispatchEvent(new CustomEvent("hotline:tickets"));  // the map redraws (map.js)
  });
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 1000);
  connect();
});
