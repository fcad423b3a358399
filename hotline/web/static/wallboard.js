// The wallboard: polls /console/wallboard/panel?since=VERSION and swaps the panel when anything changed
// (a 204 otherwise). A refused token (revoked) or a lost connection says so on the screen.
"use strict";

(function () {
  const main = document.getElementById("wallboard");
  if (!main) return;
  const banner = document.getElementById("wall-banner");
  const clock = document.getElementById("wall-clock");
  const every = Math.max(1, Number(main.dataset.poll || 3)) * 1000;
  let version = main.dataset.version;
  let forcedAt = Date.now();

  function say(text) {
    banner.textContent = text;
    banner.hidden = !text;
  }

  async function poll() {
    const force = Date.now() - forcedAt > 60000; // once a minute in full: late tickets move up as time passes
    const since = force ? "" : version;
    let response = null;
    try {
      response = await fetch(`/console/wallboard/panel?since=${encodeURIComponent(since)}`, { redirect: "manual", cache: "no-store" });
    } catch (e) {
      response = null;
    }
    if (!response) {
      say(main.dataset.stale);
    } else if (response.status === 204) {
      say("");
    } else if (response.ok) {
      const html = await response.text();
      const page = new DOMParser().parseFromString(html, "text/html");
      const fresh = page.getElementById("wall-panel");
      const panel = document.getElementById("wall-panel");
      if (fresh && panel) {
        panel.replaceWith(fresh);
        version = fresh.dataset.version;
        main.dataset.version = version;
        if (force) forcedAt = Date.now();
        if (typeof tick === "function") tick();
      }
      say("");
    } else if (response.status === 403 || response.type === "opaqueredirect") {
      say(main.dataset.refused);
      document.getElementById("wall-panel").hidden = true;
      return; // refused: stop asking
    } else {
      say(main.dataset.stale);
    }
    setTimeout(poll, every);
  }

  // The city's time (data-tz), whatever zone the TV's own clock is set to.
  const format = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: clock.dataset.tz });

  function showClock() {
    clock.textContent = `${format.format(new Date())} ${clock.dataset.zone}`;
  }

  setTimeout(poll, every);
  setInterval(showClock, 10000);
})();
