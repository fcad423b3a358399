// The console map: Leaflet (served from its Python package), open tickets from /console/map/tickets.json.
// Configuration comes from data- attributes of #map (no inline script: the console runs under a strict CSP).
"use strict";

(function () {
  const el = document.getElementById("map");
  if (!el || !window.L) return;
  const form = document.getElementById("map-filters");
  const summary = document.getElementById("map-summary");
  const errorBox = document.getElementById("map-error");
  const [lat, lon] = el.dataset.centre.split(",").map(Number);
  // maxZoom on the map itself: marker clustering needs one, and the offline map has no tile layer to give it
  const map = L.map(el, { zoomControl: true, attributionControl: true, maxZoom: 18, minZoom: 9 }).setView([lat, lon], 13);
  map.attributionControl.setPrefix(false);
  if (el.dataset.tiles) {
    // strict-origin: the tile server sees which site asks (OpenStreetMap's policy wants a Referer), never the page
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, referrerPolicy: "strict-origin" }).addTo(map);
    map.attributionControl.addAttribution(escapeText(el.dataset.attribution || ""));
  }
  const desaLayer = L.layerGroup().addTo(map);
  const clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40, spiderfyOnMaxZoom: true });
  map.addLayer(clusters);
  let fitted = false;
  let wholeCity = 99; // the zoom that shows every desa; one step closer names them all
  map.on("zoomend", () => el.classList.toggle("zoomed-in", map.getZoom() > wholeCity));

  function escapeText(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function line(parent, tag, text, cls) {
    const node = document.createElement(tag);
    node.textContent = text;
    if (cls) node.className = cls;
    parent.appendChild(node);
    return node;
  }

  function popup(m) {
    const box = document.createElement("div");
    box.className = "map-popup";
    const title = line(box, "strong", `#${m.id} · ${m.category}`);
    title.dataset.ticket = String(m.id);
    line(box, "div", `${m.priority} · ${m.status}`);
    line(box, "div", `${m.place} · ${m.where}`, "muted");
    if (m.due) line(box, "div", `${m.due_label} ${m.due}${m.late ? " · " + el.dataset.lateLabel : ""}`, m.late ? "late" : "");
    const link = line(box, "a", el.dataset.openLabel);
    link.href = m.url;
    return box;
  }

  const byId = new Map();

  function pin(m) {
    const classes = `pin pri-${m.level}${m.late ? " late-ring" : ""}${m.exact ? " exact" : ""}`;
    const icon = L.divIcon({ className: "pin-icon", html: `<span class="${classes}"></span>`, iconSize: [22, 22], iconAnchor: [11, 11] });
    const marker = L.marker([m.lat, m.lon], { icon, title: `#${m.id} ${m.category}`, alt: `#${m.id}`, riseOnHover: true });
    marker.bindPopup(() => popup(m));
    marker.on("add", () => {
      const node = marker.getElement();
      if (node) node.dataset.ticket = String(m.id);
    });
    byId.set(m.id, marker);
    return marker;
  }

  function drawDesa(desa) {
    desaLayer.clearLayers();
    desa.forEach((d) => {
      const point = L.circleMarker([d.lat, d.lon], { radius: d.open ? 7 : 4, weight: 1, className: d.open ? "desa-point busy" : "desa-point" });
      const label = d.open ? `${d.name} · ${d.open} ${el.dataset.openCount}` : d.name;
      // Offline every desa keeps its name on (the map has nothing else to read by); those with no open report
      // show it only when zoomed in (.quiet, console.css), so twenty-odd labels do not cover each other.
      const kind = d.open ? "desa-label busy" : "desa-label quiet";
      point.bindTooltip(label, { permanent: !el.dataset.tiles, direction: "right", className: kind, offset: [6, 0] });
      desaLayer.addLayer(point);
    });
  }

  function query() {
    const params = new URLSearchParams();
    if (el.dataset.focus) params.set("focus", el.dataset.focus);
    if (!form) return params;
    new FormData(form).forEach((value, key) => { if (value) params.set(key, String(value)); });
    return params;
  }

  async function load() {
    const params = query();
    let response;
    try {
      response = await fetch(`${el.dataset.json}?${params}`, { headers: { Accept: "application/json" } });
    } catch (e) {
      response = null;
    }
    if (!response || !response.ok) {
      let message = el.dataset.failed;
      if (response && response.status === 400) message = (await response.json()).detail || message;
      errorBox.textContent = message;
      errorBox.hidden = false;
      return;
    }
    errorBox.hidden = true;
    const data = await response.json();
    clusters.clearLayers();
    byId.clear();
    clusters.addLayers(data.markers.map(pin));
    drawDesa(data.desa);
    summary.textContent = data.summary;
    el.dataset.shown = String(data.shown);
    if (!fitted && data.desa.length) {
      map.fitBounds(L.latLngBounds(data.desa.map((d) => [d.lat, d.lon])).pad(0.05), { animate: false });
      wholeCity = map.getZoom();
      fitted = true;
      const focused = data.focus && byId.get(data.focus);
      if (focused) clusters.zoomToShowLayer(focused, () => focused.openPopup()); // "on the map" from a ticket
    }
  }

  if (form) {
    form.addEventListener("change", () => {
      history.replaceState(null, "", `${form.action}?${query()}`);
      load();
    });
  }
  document.addEventListener("hotline:tickets", load);
  load();
})();
