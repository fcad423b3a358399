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

async function refreshLiveRegion() {
  const region = document.getElementById("live-region");
  if (!region) return;
  const response = await fetch(window.location.href, { headers: { "X-Live-Refresh": "1" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("live-region");
  if (fresh) {
    region.innerHTML = fresh.innerHTML;
    tick();
  }
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
  source.addEventListener("tickets", () => { refreshLiveRegion(); });
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 1000);
  connect();
});
