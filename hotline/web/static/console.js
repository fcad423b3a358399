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

// A live swap replaces what the keyboard is on: focus goes back to the same link or form button (by its address)
// in the fresh copy, else to the first control there, so a keyboard user is not thrown to the top of the page.
function swapKeepingFocus(container, html) {
  const active = container.contains(document.activeElement) ? document.activeElement : null;
  const form = active && active.closest("form");
  const key = active && (active.getAttribute("href") || (form && form.getAttribute("action")));
  container.innerHTML = html;
  if (!active) return;
  const same = key && [...container.querySelectorAll("a[href], form")].find(
    (el) => (el.getAttribute("href") || el.getAttribute("action")) === key,
  );
  const target = same ? (same.tagName === "FORM" ? same.querySelector("button") : same) : container.querySelector("a[href], button");
  if (target) target.focus();
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
    if (fresh) swapKeepingFocus(part, fresh.innerHTML);
  });
  const freshForm = page.getElementById("edit-form");
  if (form && freshForm) refreshForm(form, freshForm);
  tick();
}

// Attention (issue 19): a short tone made with WebAudio (no sound file) and a desktop notification when a caller
// joins the queue or a report becomes critical. The server sends neither for what this user did themselves.
const MUTE_KEY = "hotline.sound.muted";
let audio = null;

function muted() {
  try { return window.localStorage.getItem(MUTE_KEY) === "1"; } catch (e) { return false; }
}

// Browsers start audio only after a user gesture: the first click or key on the page unlocks it.
function audioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!audio) audio = new Context();
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

function tone(urgent) {
  if (muted()) return;
  const context = audioContext();
  if (!context) return;
  const pitches = urgent ? [988, 740, 988, 740] : [660, 880];  // a critical report: longer, two-tone
  pitches.forEach((hz, i) => {
    const start = context.currentTime + i * 0.18;
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start);
    oscillator.stop(start + 0.17);
  });
}

function notify(data, tag) {
  if (!("Notification" in window) || window.Notification.permission !== "granted") return;
  try {
    const note = new window.Notification(data.title, { body: data.body, tag });
    if (data.url) note.addEventListener("click", () => { window.focus(); window.location.href = data.url; });
  } catch (e) { /* a browser that allows notifications only from a service worker: the tone still plays */ }
}

function attend(event, urgent, tag) {
  let data;
  try { data = JSON.parse(event.data); } catch (e) { return; }
  tone(urgent);
  notify(data, tag + (data.id || data.number || ""));
}

function showSound(button) {
  const off = muted();
  button.setAttribute("aria-pressed", off ? "true" : "false");
  button.textContent = off ? button.dataset.off : button.dataset.on;
  button.title = off ? button.dataset.unmute : button.dataset.mute;
  button.classList.toggle("is-muted", off);
}

function showNotify(button) {
  const permission = "Notification" in window ? window.Notification.permission : "denied";
  if (permission === "granted") button.textContent = button.dataset.granted;
  if (permission === "denied") button.textContent = button.dataset.denied;
  button.disabled = permission !== "default";
}

function setUpAttention() {
  const group = document.getElementById("attention");
  const sound = document.getElementById("sound-toggle");
  const ask = document.getElementById("notify-button");
  if (!group || !sound || !ask) return;
  group.hidden = false;
  showSound(sound);
  showNotify(ask);
  sound.addEventListener("click", () => {
    try { window.localStorage.setItem(MUTE_KEY, muted() ? "0" : "1"); } catch (e) { return; }
    showSound(sound);
  });
  ask.addEventListener("click", () => {
    if (!("Notification" in window)) return;
    Promise.resolve(window.Notification.requestPermission()).then(() => showNotify(ask));
  });
  const unlock = () => { if (!muted()) audioContext(); };
  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
}

// The header's menus ("More", the account; <details>, so they work without this): Escape closes one and gives the
// keyboard back to its summary; a click or focus elsewhere closes it, so it never stays open over the work area.
function setUpMenus() {
  document.querySelectorAll("header details").forEach((menu) => {
    const close = () => { menu.open = false; };
    menu.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !menu.open) return;
      close();
      menu.querySelector("summary").focus();
    });
    document.addEventListener("click", (event) => { if (!menu.contains(event.target)) close(); });
    document.addEventListener("focusin", (event) => { if (!menu.contains(event.target)) close(); });
  });
}

// The queue's short news for screen readers (#queue-news, a polite status): who joined, never the whole table.
function sayArrival(event, arrivals) {
  const news = document.getElementById("queue-news");
  let data;
  try { data = JSON.parse(event.data); } catch (e) { return; }
  if (!news || !data.line) return;
  arrivals.push(data.line);
  const template = arrivals.length === 1 ? news.dataset.one : news.dataset.many;
  news.textContent = template.replace("{n}", String(arrivals.length)).replace("{calls}", arrivals.join("; "));
}

function connect() {
  if (document.body.dataset.live !== "on" || !window.EventSource) return;
  const status = document.getElementById("live-status");
  const source = new EventSource("/console/live");
  source.addEventListener("open", () => { if (status) status.dataset.state = "on"; });
  source.addEventListener("error", () => { if (status) status.dataset.state = "off"; });
  let arrivals = [];  // the callers who joined with the last queue change, said in one sentence
  source.addEventListener("queue", (event) => {
    const queue = document.getElementById("queue");
    arrivals = [];
    if (queue) {
      swapKeepingFocus(queue, event.data);
      tick();
    }
  });
  source.addEventListener("tickets", () => {
    refreshLiveParts();
    document.dispatchEvent(new CustomEvent("hotline:tickets"));  // the map redraws (map.js)
  });
  source.addEventListener("call", (event) => {
    attend(event, false, "call-");
    sayArrival(event, arrivals);
  });
  source.addEventListener("critical", (event) => attend(event, true, "critical-"));
}

document.addEventListener("DOMContentLoaded", () => {
  tick();
  setInterval(tick, 1000);
  setUpAttention();
  setUpMenus();
  connect();
});
