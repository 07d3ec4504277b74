// The rebalancing plan on a map: hotspots with their surplus (blue) or deficit (red), the
// depot, each truck's route in its own colour with numbered stops, and each truck's stop
// list. An operator can start a run and watch it finish, then watch the crews work through
// it: the trucks' progress and the summary follow the plan live (polled), with no click.
import { explain, label, t } from "../app/i18n.js";
import { append, api, ApiError, el, poll } from "../common/api.js";
import { makeMap } from "../common/map.js";
import { cityOf } from "./city.js";

const POLL_MS = 1000;
// How often a ready plan is read again while its crews still have stops to do.
const PROGRESS_POLL_MS = 3000;

export async function rebalancingPage(main, params, onLeave = () => {}) {
  const city = cityOf(params);
  const status = el("p", { id: "status", role: "status" });
  const cityInput = el("input", { id: "city", name: "city", value: city, size: 12 });
  const controls = el(
    "form",
    { class: "controls", id: "plan-controls" },
    el("label", {}, t("city.city"), cityInput),
    el("button", { type: "submit", id: "show-plan" }, t("plan.show_latest")),
    el("button", { type: "button", id: "plan-now" }, t("plan.plan_now")),
  );
  const summary = el("section", { id: "summary", class: "card" });
  const mapBox = el("div", { id: "map", class: "map" });
  const trucks = el("section", { id: "trucks" });
  append(main,
    el("h1", {}, t("plan.title")),
    controls,
    status,
    el(
      "div",
      { class: "split" },
      el(
        "div",
        {},
        mapBox,
        el(
          "p",
          { class: "legend" },
          el("span", { class: "dot surplus" }), t("plan.key_surplus"),
          el("span", { class: "dot deficit" }), t("plan.key_deficit"),
          el("span", { class: "depot-key" }, "D"), t("plan.key_depot"),
        ),
      ),
      el("div", { class: "side" }, summary, trucks),
    ),
  );
  const map = await makeMap(mapBox);
  let layer = null;

  async function load(planId) {
    const cityId = cityInput.value.trim();
    const path = planId
      ? `/api/v1/ops/rebalancing/plans/${planId}`
      : `/api/v1/ops/rebalancing/plans/latest?city_id=${encodeURIComponent(cityId)}`;
    let plan;
    try {
      plan = await api("GET", path);
    } catch (error) {
      if (error instanceof ApiError && error.code === "plan_not_found") {
        status.textContent = t("plan.none", { city: cityId });
        summary.replaceChildren();
        trucks.replaceChildren();
        if (layer) layer.remove();
        return null;
      }
      throw error;
    }
    if (layer) layer.remove();
    layer = drawPlan(map, plan);
    showProgress(plan);
    status.textContent = progress(plan.state);
    watched = plan.state === "ready" && !allDone(plan) ? plan.id : null;
    return plan;
  }

  function showProgress(plan) {
    summary.replaceChildren(...summaryOf(plan));
    trucks.replaceChildren(...plan.trucks.map(truckCard));
  }

  // The plan on show, read again while its crews drive it: stops done tick off live. The map
  // stays as the operator left it (a plan's routes do not change once it is ready).
  // Asked with the last answer's ETag: the platform answers 304 while no stop changed.
  let watched = null;
  let reading = false;
  let tag = null;
  const timer = setInterval(async () => {
    if (!watched || reading || !document.body.contains(trucks)) return;
    reading = true;
    try {
      const asked = watched;
      const changed = await poll(`/api/v1/ops/rebalancing/plans/${asked}`, tag);
      if (!changed || asked !== watched) return;
      tag = changed.tag;
      const plan = changed.data;
      showProgress(plan);
      if (allDone(plan)) watched = null; // the night's work is over: nothing more to follow
    } catch {
      // the next read tries again
    } finally {
      reading = false;
    }
  }, PROGRESS_POLL_MS);
  onLeave(() => clearInterval(timer));

  // The plan (the city's latest without an id), again and again while it is in the making.
  async function follow(planId) {
    for (;;) {
      const plan = await load(planId);
      if (!plan || !progress(plan.state)) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async function planNow() {
    status.textContent = progress("queued");
    const started = await api("POST", "/api/v1/ops/rebalancing/plans", {
      city_id: cityInput.value.trim(),
    });
    await follow(started.id);
  }

  // A plan asked for waits for a planning worker (queued), then the worker searches.
  function progress(state) {
    if (state === "queued") return t("plan.queued");
    if (state === "running") return t("plan.running");
    return "";
  }

  const report = (error) => {
    status.textContent = error.code === "rebalancing_running"
      ? t("plan.under_way")
      : explain(error);
  };
  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `#/rebalancing?city=${encodeURIComponent(cityInput.value.trim())}`);
    follow().catch(report);
  });
  controls.querySelector("#plan-now").addEventListener("click", () => planNow().catch(report));
  const latest = await load();
  if (latest && progress(latest.state)) follow(latest.id).catch(report);
}

function drawPlan(map, plan) {
  const features = plan.geojson.features;
  const layer = L.geoJSON(
    { type: "FeatureCollection", features: features.filter((f) => f.properties.kind !== "stop") },
    {
      // Routes only: hotspots keep the colours their markers were made with.
      style: (feature) =>
        feature.properties.kind === "route"
          ? { color: feature.properties.colour, weight: 4, opacity: 0.85 }
          : {},
      pointToLayer: (feature, latlng) => marker(feature.properties, latlng),
    },
  );
  // A truck that comes back to a place gets one marker there, numbered with each visit.
  const visits = new Map();
  for (const feature of features.filter((f) => f.properties.kind === "stop")) {
    const [lon, lat] = feature.geometry.coordinates;
    const key = `${feature.properties.truck}:${lon}:${lat}`;
    if (!visits.has(key)) visits.set(key, { latlng: [lat, lon], stops: [] });
    visits.get(key).stops.push(feature.properties);
  }
  for (const { latlng, stops } of visits.values()) stopMarker(stops, latlng).addTo(layer);
  layer.addTo(map);
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [32, 32], maxZoom: 17 });
  return layer;
}

function stopMarker(stops, latlng) {
  const { truck, colour } = stops[0];
  const site = placeOf(stops[0]);
  const what = stops
    .map((stop) => t(stop.bikes > 0 ? "plan.stop_pick_up" : "plan.stop_drop", { seq: stop.seq, n: Math.abs(stop.bikes) }))
    .join(t("list.separator"));
  const label = stops.map((stop) => stop.seq).join(",");
  return L.marker(latlng, {
    icon: L.divIcon({
      className: `stop-marker truck-${truck}`,
      html: label,
      iconSize: [Math.max(20, 8 + 7 * label.length), 20],
    }),
    title: t("plan.stop_title", { truck, site, what }),
    zIndexOffset: 1000,
  }).on("add", (event) => {
    event.target.getElement().style.background = colour;
  });
}

function marker(properties, latlng) {
  if (properties.kind === "depot") {
    return L.marker(latlng, {
      icon: L.divIcon({ className: "depot-marker", html: "D", iconSize: [22, 22] }),
      title: t("plan.depot"),
    });
  }
  const surplus = properties.surplus;
  return L.circleMarker(latlng, {
    className: surplus < 0 ? "hotspot deficit" : "hotspot surplus",
    radius: 12 + 3 * Math.sqrt(Math.abs(surplus)),
    color: surplus < 0 ? "#b2182b" : "#2166ac",
    fillOpacity: 0.3,
    weight: 2,
  }).bindTooltip(t(surplus < 0 ? "plan.hotspot_needs" : "plan.hotspot_surplus", { name: properties.name, n: Math.abs(surplus) }));
}

function summaryOf(plan) {
  const s = plan.summary || {};
  const lines = [
    el("h2", {}, t("plan.heading", { version: plan.version, state: label("plan.state", plan.state) })),
    el("p", {}, t("plan.made", { morning: s.morning || "—", when: new Date(plan.started_at).toLocaleString(document.documentElement.lang), trigger: label("plan.trigger", plan.trigger) })),
  ];
  if (plan.state === "failed") lines.push(el("p", { class: "error" }, plan.error));
  if (plan.state === "ready") {
    const error = s.forecast_error || {};
    lines.push(
      el(
        "dl",
        { class: "figures" },
        el("dt", {}, t("plan.imbalance")), el("dd", { id: "imbalance" }, t("plan.imbalance_value", { before: s.imbalance_before, after: s.imbalance_after })),
        ...bikesAccountedFor(plan.trucks),
        el("dt", {}, t("plan.driving")), el("dd", {}, t(s.trucks_used === 1 ? "plan.driving_one" : "plan.driving_many", { km: km(s.truck_metres), n: s.trucks_used })),
        el("dt", {}, t("plan.left_out")), el("dd", {}, s.stops_left_out),
        el("dt", {}, t("plan.forecast_error")),
        el("dd", {}, t("plan.forecast_value", { error: (error.mean_absolute_error ?? 0).toFixed(1), actual: (error.mean_actual ?? 0).toFixed(1), days: error.days })),
        el("dt", {}, t("plan.distances")), el("dd", { id: "distances" }, distancesWords(s.distances)),
      ),
    );
  }
  return lines;
}

// Which distances the plan was made on, as the service names them, in the console's words.
function distancesWords(said) {
  if (!said || said === "great circle") return t("plan.great_circle");
  if (said === "road routing service") return t("plan.road_routing");
  const failed = /^great circle \(the routing service failed: (.*)\)$/s.exec(said);
  return failed ? t("plan.great_circle_failed", { reason: failed[1] }) : said;
}

const allDone = (plan) => plan.trucks.every((truck) => truck.stops.every((stop) => stop.done_at));

// Every bike a plan picks up is dropped at a hotspot or unloaded at the depot when its truck
// comes back; bikes a truck drops beyond what it picked up were loaded at the depot.
function loads(truck) {
  const picked = truck.stops.reduce((sum, stop) => sum + Math.max(0, stop.bikes), 0);
  const dropped = truck.stops.reduce((sum, stop) => sum + Math.max(0, -stop.bikes), 0);
  return { picked, dropped, fromDepot: Math.max(0, dropped - picked), toDepot: Math.max(0, picked - dropped) };
}

function bikesAccountedFor(trucks) {
  const total = { picked: 0, dropped: 0, fromDepot: 0, toDepot: 0 };
  for (const truck of trucks) for (const [name, bikes] of Object.entries(loads(truck))) total[name] += bikes;
  const done = (action) =>
    trucks.reduce((sum, truck) => sum + truck.stops.filter((s) => s.done_at && s.action === action).reduce((n, s) => n + Math.abs(s.bikes), 0), 0);
  const lines = [
    el("dt", {}, t("plan.picked_up")), el("dd", { id: "picked-up" }, t("plan.bikes_done", { n: total.picked, done: done("pick_up") })),
    el("dt", {}, t("plan.dropped")), el("dd", { id: "dropped" }, t("plan.bikes_done", { n: total.dropped, done: done("drop_off") })),
    el("dt", {}, t("plan.to_depot")), el("dd", { id: "to-depot" }, t("plan.to_depot_value", { n: total.toDepot })),
  ];
  if (total.fromDepot) lines.push(el("dt", {}, t("plan.from_depot")), el("dd", { id: "from-depot" }, t("plan.bikes", { n: total.fromDepot })));
  return lines;
}

function truckCard(truck) {
  const swatch = el("span", { class: "swatch" });
  swatch.style.background = truck.colour;
  const { fromDepot, toDepot } = loads(truck);
  const done = truck.stops.filter((stop) => stop.done_at).length;
  return el(
    "article",
    { class: "card truck", "data-truck": truck.truck },
    el("h3", {}, swatch, t("plan.truck", { truck: truck.truck }), el("small", {}, t("plan.truck_size", { km: km(truck.metres), time: hours(truck.seconds), n: truck.stops.length }))),
    el("p", { class: "progress" }, t("plan.progress", { done, n: truck.stops.length })),
    fromDepot ? el("p", { class: "depot-step" }, t("plan.load_first", { n: fromDepot })) : null,
    el(
      "ol",
      {},
      truck.stops.map((stop) =>
        el(
          "li",
          { class: stop.done_at ? "done" : "", "data-seq": stop.seq },
          t(stop.action === "pick_up" ? "plan.pick_up" : "plan.drop", { n: Math.abs(stop.bikes), site: placeOf(stop) }),
          " ",
          el("a", { class: "map-link", href: stop.map_url, "aria-label": t("plan.open_map_label", { seq: stop.seq }) }, t("plan.open_map")),
          stop.done_at ? el("span", { class: "tick", title: t("plan.done_at", { when: stop.done_at }) }, " ✓") : null,
        ),
      ),
    ),
    toDepot ? el("p", { class: "depot-step" }, t("plan.unload", { n: toDepot })) : null,
  );
}

// A stop as a driver finds it: in or at a named zone, or so far from one in a direction;
// the planner's own name only in a city that named no zone.
function placeOf(stop) {
  const landmark = stop.landmark;
  if (!landmark) return stop.site;
  if (!landmark.bearing) return t("plan.place_at", { name: landmark.name });
  return t("plan.place_near", { name: landmark.name, metres: landmark.metres, bearing: t(`plan.bearing.${landmark.bearing}`) });
}

const km = (metres) => (metres == null ? "—" : t("plan.km", { km: (metres / 1000).toFixed(1) }));
const hours = (seconds) =>
  seconds == null ? "—" : t("plan.hours", { h: Math.floor(seconds / 3600), min: String(Math.round((seconds % 3600) / 60)).padStart(2, "0") });
