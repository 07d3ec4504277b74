// Cities: launch one, change its settings, price each kind, set its trucks and nightly hour,
// pick the payment gateways riders may pay through, retire or reopen it. A new city takes rides once it has zones (the Zones page), a price
// for a kind and vehicles of that kind (the Register page).
import { explain, t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { cityOf, forgetCities, knownCities } from "./city.js";

const KINDS = ["bike", "ebike", "power_bank", "umbrella", "basketball"];
// Each field of a price with its first value; its words are "price.<field>".
const PRICES = [
  ["unlock_fee_minor", 0],
  ["rate_per_interval_minor", 150],
  ["interval_seconds", 1800],
  ["free_seconds", 0],
  ["daily_cap_minor", ""],
  ["deposit_minor", 0],
];
const ZONES = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

const field = (label, attributes) => el("label", {}, label, el("input", attributes));
const numbers = (form, names) =>
  Object.fromEntries(names.filter((name) => form.elements[name].value !== "").map((name) => [name, Number(form.elements[name].value)]));

export async function citiesPage(main, params) {
  const cities = await knownCities(true);
  const current = cities.find((city) => city.id === cityOf(params)) || cities[0];
  const status = el("p", { role: "status", id: "cities-status" });
  const fail = (error) => {
    status.className = "error";
    status.textContent = explain(error);
  };
  const done = (text) => {
    status.className = "ok";
    status.textContent = text;
  };
  append(main,
    el("h1", {}, t("cities.title")),
    el("datalist", { id: "time-zones" }, ZONES.map((zone) => el("option", { value: zone }))),
    cityTable(cities, current),
    status,
    el("div", { class: "columns" }, launchForm(done, fail), current ? settingsForm(current, done, fail) : null),
    current ? el("div", { class: "columns" }, pricingForm(current, done, fail), await fleetForm(current, done, fail)) : null,
    current ? el("div", { class: "columns" }, await gatewaysForm(current, done, fail)) : null,
  );
}

function cityTable(cities, current) {
  const row = (city) =>
    el(
      "tr",
      { "data-city": city.id, class: current && city.id === current.id ? "current" : "" },
      el("td", {}, el("a", { href: `#/cities?city=${encodeURIComponent(city.id)}` }, city.id)),
      el("td", {}, city.name),
      el("td", {}, city.time_zone),
      el("td", {}, city.currency),
      el("td", {}, city.locale),
      el("td", { class: "state" }, city.retired_at ? t("cities.retired", { when: new Date(city.retired_at).toLocaleDateString(document.documentElement.lang) }) : t("cities.running")),
      el("td", {}, el("a", { href: `#/zones?city=${encodeURIComponent(city.id)}` }, t("cities.zones"))),
    );
  return el(
    "table",
    { id: "city-list" },
    el("thead", {}, el("tr", {}, ["id", "name", "time_zone", "currency", "locale", "state"].map((h) => el("th", {}, t(`cities.${h}`))), el("th", {}))),
    el("tbody", {}, cities.map(row)),
  );
}

function launchForm(done, fail) {
  const form = el(
    "form",
    { class: "card stack", id: "launch-city" },
    el("h2", {}, t("cities.launch_title")),
    field(t("cities.id_rule"), { name: "id", required: true, pattern: "[a-z0-9][a-z0-9\\-]*[a-z0-9]", placeholder: "berlin" }),
    field(t("cities.name"), { name: "name", required: true, placeholder: "Berlin" }),
    field(t("cities.time_zone_rule"), { name: "time_zone", required: true, list: "time-zones", placeholder: "Europe/Berlin" }),
    field(t("cities.currency_rule"), { name: "currency", required: true, maxlength: 3, placeholder: "EUR" }),
    field(t("cities.locale_rule"), { name: "locale", required: true, placeholder: "de-DE" }),
    field(t("cities.lon"), { name: "lon", type: "number", step: "any", required: true, placeholder: "13.405" }),
    field(t("cities.lat"), { name: "lat", type: "number", step: "any", required: true, placeholder: "52.52" }),
    el("button", { type: "submit" }, t("cities.launch")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      const city = await api("POST", "/api/v1/ops/cities", {
        id: data.id.trim(),
        name: data.name.trim(),
        time_zone: data.time_zone.trim(),
        currency: data.currency.trim().toUpperCase(),
        locale: data.locale.trim(),
        center: { lon: Number(data.lon), lat: Number(data.lat) },
      });
      forgetCities();
      location.hash = `#/cities?city=${encodeURIComponent(city.id)}`;
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

function settingsForm(city, done, fail) {
  const path = `/api/v1/ops/cities/${encodeURIComponent(city.id)}`;
  const retirement = el("button", { type: "button", id: "retirement" }, city.retired_at ? t("cities.reopen") : t("cities.retire"));
  const form = el(
    "form",
    { class: "card stack", id: "city-settings" },
    el("h2", {}, `${city.name} (${city.currency})`),
    field(t("cities.name"), { name: "name", required: true, value: city.name }),
    field(t("cities.time_zone_rule"), { name: "time_zone", required: true, list: "time-zones", value: city.time_zone }),
    field(t("cities.locale"), { name: "locale", required: true, value: city.locale }),
    field(t("cities.lon"), { name: "lon", type: "number", step: "any", required: true, value: city.center.lon }),
    field(t("cities.lat"), { name: "lat", type: "number", step: "any", required: true, value: city.center.lat }),
    el("div", { class: "controls" }, el("button", { type: "submit" }, t("cities.save")), retirement),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      await api("PATCH", path, {
        name: data.name.trim(),
        time_zone: data.time_zone.trim(),
        locale: data.locale.trim(),
        center: { lon: Number(data.lon), lat: Number(data.lat) },
      });
      forgetCities();
      done(t("cities.saved", { city: city.id }));
    } catch (error) {
      fail(error);
    }
  });
  retirement.addEventListener("click", async () => {
    const retiring = !city.retired_at;
    if (retiring && !confirm(t("cities.retire_confirm", { name: city.name }))) return;
    try {
      await api(retiring ? "POST" : "DELETE", `${path}/retirement`);
      forgetCities();
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

function pricingForm(city, done, fail) {
  const form = el(
    "form",
    { class: "card stack", id: "pricing-plan" },
    el("h2", {}, t("cities.price_title", { currency: city.currency })),
    el("label", {}, t("cities.kind"), el("select", { name: "kind" }, KINDS.map((kind) => el("option", { value: kind }, t(`kind.${kind}`))))),
    PRICES.map(([name, value]) => field(t(`price.${name}`), { name, type: "number", min: 0, step: 1, value })),
    el("button", { type: "submit" }, t("cities.publish_price")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = form.elements.kind.value;
    try {
      const plan = await api(
        "PUT",
        `/api/v1/ops/pricing-plans/${encodeURIComponent(city.id)}/${kind}`,
        numbers(form, PRICES.map(([name]) => name)),
      );
      done(t("cities.priced", { city: city.id, kind, currency: plan.currency }));
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

async function fleetForm(city, done, fail) {
  const path = `/api/v1/ops/rebalancing/fleets/${encodeURIComponent(city.id)}`;
  const fleet = await api("GET", path).catch(() => null);
  const truck = (fleet && fleet.trucks[0]) || { capacity: 30, shift_hours: 7 };
  const form = el(
    "form",
    { class: "card stack", id: "city-fleet" },
    el("h2", {}, t("cities.trucks_title")),
    field(t("cities.depot_lon"), { name: "lon", type: "number", step: "any", required: true, value: fleet ? fleet.depot.lon : city.center.lon }),
    field(t("cities.depot_lat"), { name: "lat", type: "number", step: "any", required: true, value: fleet ? fleet.depot.lat : city.center.lat }),
    field(t("cities.trucks"), { name: "trucks", type: "number", min: 1, max: 50, required: true, value: fleet ? fleet.trucks.length : 2 }),
    field(t("cities.capacity"), { name: "capacity", type: "number", min: 1, required: true, value: truck.capacity }),
    field(t("cities.shift"), { name: "shift_hours", type: "number", min: 0.5, step: 0.5, required: true, value: truck.shift_hours }),
    field(t("cities.speed"), { name: "speed_kph", type: "number", min: 1, step: "any", required: true, value: fleet ? fleet.speed_kph : 25 }),
    field(t("cities.nightly_hour", { zone: city.time_zone }), { name: "nightly_hour", type: "number", min: 0, max: 23, required: true, value: fleet ? fleet.nightly_hour : 2 }),
    field(t("cities.search_time"), { name: "time_limit_seconds", type: "number", min: 1, required: true, value: fleet ? fleet.time_limit_seconds : 20 }),
    // Trip starts each morning search that found no vehicle adds to a hotspot's forecast.
    field(t("cities.unmet_demand_weight"), { name: "unmet_demand_weight", type: "number", min: 0, max: 5, step: 0.1, required: true, value: fleet ? fleet.unmet_demand_weight : 0 }),
    el("p", { class: "muted" }, t("cities.unmet_demand_hint")),
    el("button", { type: "submit" }, t("cities.save_trucks")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const n = numbers(form, ["lon", "lat", "trucks", "capacity", "shift_hours", "speed_kph", "nightly_hour", "time_limit_seconds", "unmet_demand_weight"]);
    try {
      await api("PUT", path, {
        depot: { lon: n.lon, lat: n.lat },
        trucks: Array.from({ length: n.trucks }, () => ({ capacity: n.capacity, shift_hours: n.shift_hours })),
        speed_kph: n.speed_kph,
        nightly_hour: n.nightly_hour,
        time_limit_seconds: n.time_limit_seconds,
        unmet_demand_weight: n.unmet_demand_weight,
        ...(fleet ? { depot_stock: fleet.depot_stock, routing_url: fleet.routing_url } : {}),
      });
      done(t("cities.trucks_saved", { city: city.id, n: n.trucks, hour: n.nightly_hour, zone: city.time_zone }));
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

// The payment gateways riders may pay through in the city: any of those the platform has
// configured, and the one a payment takes unless the rider picks another.
async function gatewaysForm(city, done, fail) {
  const path = `/api/v1/ops/cities/${encodeURIComponent(city.id)}/payment-gateways`;
  const settings = await api("GET", path);
  const offered = new Set(settings.gateways);
  const form = el(
    "form",
    { class: "card stack", id: "city-gateways" },
    el("h2", {}, t("gateways.title")),
    el(
      "fieldset",
      {},
      el("legend", {}, t("gateways.offered")),
      settings.configured.map((name) =>
        el("label", {}, el("input", { type: "checkbox", name: "gateways", value: name, checked: offered.has(name) }), ` ${name}`),
      ),
    ),
    el(
      "label",
      {},
      t("gateways.default"),
      el(
        "select",
        { name: "default" },
        settings.configured.map((name) => el("option", { value: name, selected: name === settings.default }, name)),
      ),
    ),
    el("button", { type: "submit" }, t("gateways.save")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const gateways = [...form.querySelectorAll("[name=gateways]:checked")].map((box) => box.value);
    try {
      const saved = await api("PUT", path, { gateways, default: form.elements.default.value });
      done(t("gateways.saved", { city: city.id, gateways: saved.gateways.join(", "), default: saved.default }));
    } catch (error) {
      fail(error);
    }
  });
  return form;
}
