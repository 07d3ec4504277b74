// Cities: launch one, change its settings, price each kind, set its trucks and nightly hour,
// pick the payment gateways riders may pay through, retire or reopen it. A new city takes rides once it has zones (the Zones page), a price
// for a kind and vehicles of that kind (the Register page).
import { api, el } from "../common/api.js";
import { cityOf, forgetCities, knownCities } from "./city.js";

const KINDS = ["bike", "ebike", "power_bank", "umbrella", "basketball"];
const PRICES = [
  ["unlock_fee_minor", "Unlock fee (minor units)", 0],
  ["rate_per_interval_minor", "Rate per interval (minor units)", 150],
  ["interval_seconds", "Interval (seconds)", 1800],
  ["free_seconds", "Free time (seconds)", 0],
  ["daily_cap_minor", "Daily cap (minor units, blank: none)", ""],
  ["deposit_minor", "Deposit (minor units)", 0],
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
    status.textContent = error.message;
  };
  const done = (text) => {
    status.className = "ok";
    status.textContent = text;
  };
  main.append(
    el("h1", {}, "Cities"),
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
      el("td", { class: "state" }, city.retired_at ? `retired ${new Date(city.retired_at).toLocaleDateString()}` : "running"),
      el("td", {}, el("a", { href: `#/zones?city=${encodeURIComponent(city.id)}` }, "zones")),
    );
  return el(
    "table",
    { id: "city-list" },
    el("thead", {}, el("tr", {}, ["Id", "Name", "Time zone", "Currency", "Locale", "State", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, cities.map(row)),
  );
}

function launchForm(done, fail) {
  const form = el(
    "form",
    { class: "card stack", id: "launch-city" },
    el("h2", {}, "Launch a city"),
    field("Id (lower-case, in every URL)", { name: "id", required: true, pattern: "[a-z0-9][a-z0-9\\-]*[a-z0-9]", placeholder: "berlin" }),
    field("Name", { name: "name", required: true, placeholder: "Berlin" }),
    field("Time zone (IANA)", { name: "time_zone", required: true, list: "time-zones", placeholder: "Europe/Berlin" }),
    field("Currency (ISO 4217, never changes)", { name: "currency", required: true, maxlength: 3, placeholder: "EUR" }),
    field("Locale (language tag)", { name: "locale", required: true, placeholder: "de-DE" }),
    field("Centre longitude", { name: "lon", type: "number", step: "any", required: true, placeholder: "13.405" }),
    field("Centre latitude", { name: "lat", type: "number", step: "any", required: true, placeholder: "52.52" }),
    el("button", { type: "submit" }, "Launch"),
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
  const retirement = el("button", { type: "button", id: "retirement" }, city.retired_at ? "Reopen the city" : "Retire the city");
  const form = el(
    "form",
    { class: "card stack", id: "city-settings" },
    el("h2", {}, `${city.name} (${city.currency})`),
    field("Name", { name: "name", required: true, value: city.name }),
    field("Time zone (IANA)", { name: "time_zone", required: true, list: "time-zones", value: city.time_zone }),
    field("Locale", { name: "locale", required: true, value: city.locale }),
    field("Centre longitude", { name: "lon", type: "number", step: "any", required: true, value: city.center.lon }),
    field("Centre latitude", { name: "lat", type: "number", step: "any", required: true, value: city.center.lat }),
    el("div", { class: "controls" }, el("button", { type: "submit" }, "Save"), retirement),
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
      done(`${city.id}: saved.`);
    } catch (error) {
      fail(error);
    }
  });
  retirement.addEventListener("click", async () => {
    const retiring = !city.retired_at;
    if (retiring && !confirm(`Retire ${city.name}? Riders can no longer start rides there.`)) return;
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
    el("h2", {}, `Price a kind (${city.currency})`),
    el("label", {}, "Kind", el("select", { name: "kind" }, KINDS.map((kind) => el("option", { value: kind }, kind)))),
    PRICES.map(([name, label, value]) => field(label, { name, type: "number", min: 0, step: 1, value })),
    el("button", { type: "submit" }, "Publish the price"),
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
      done(`${city.id}: ${kind} priced in ${plan.currency}.`);
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
    el("h2", {}, "Trucks and the nightly run"),
    field("Depot longitude", { name: "lon", type: "number", step: "any", required: true, value: fleet ? fleet.depot.lon : city.center.lon }),
    field("Depot latitude", { name: "lat", type: "number", step: "any", required: true, value: fleet ? fleet.depot.lat : city.center.lat }),
    field("Trucks", { name: "trucks", type: "number", min: 1, max: 50, required: true, value: fleet ? fleet.trucks.length : 2 }),
    field("Bikes per truck", { name: "capacity", type: "number", min: 1, required: true, value: truck.capacity }),
    field("Shift (hours)", { name: "shift_hours", type: "number", min: 0.5, step: 0.5, required: true, value: truck.shift_hours }),
    field("Speed (km/h)", { name: "speed_kph", type: "number", min: 1, step: "any", required: true, value: fleet ? fleet.speed_kph : 25 }),
    field(`Nightly hour (${city.time_zone})`, { name: "nightly_hour", type: "number", min: 0, max: 23, required: true, value: fleet ? fleet.nightly_hour : 2 }),
    field("Search time (seconds)", { name: "time_limit_seconds", type: "number", min: 1, required: true, value: fleet ? fleet.time_limit_seconds : 20 }),
    el("button", { type: "submit" }, "Save the trucks"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const n = numbers(form, ["lon", "lat", "trucks", "capacity", "shift_hours", "speed_kph", "nightly_hour", "time_limit_seconds"]);
    try {
      await api("PUT", path, {
        depot: { lon: n.lon, lat: n.lat },
        trucks: Array.from({ length: n.trucks }, () => ({ capacity: n.capacity, shift_hours: n.shift_hours })),
        speed_kph: n.speed_kph,
        nightly_hour: n.nightly_hour,
        time_limit_seconds: n.time_limit_seconds,
        ...(fleet ? { depot_stock: fleet.depot_stock, routing_url: fleet.routing_url } : {}),
      });
      done(`${city.id}: ${n.trucks} truck(s), nightly at ${n.nightly_hour}:00 ${city.time_zone}.`);
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
    el("h2", {}, "Payment gateways"),
    el(
      "fieldset",
      {},
      el("legend", {}, "Offered to riders"),
      settings.configured.map((name) =>
        el("label", {}, el("input", { type: "checkbox", name: "gateways", value: name, checked: offered.has(name) }), ` ${name}`),
      ),
    ),
    el(
      "label",
      {},
      "Default",
      el(
        "select",
        { name: "default" },
        settings.configured.map((name) => el("option", { value: name, selected: name === settings.default }, name)),
      ),
    ),
    el("button", { type: "submit" }, "Save the gateways"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const gateways = [...form.querySelectorAll("[name=gateways]:checked")].map((box) => box.value);
    try {
      const saved = await api("PUT", path, { gateways, default: form.elements.default.value });
      done(`${city.id}: ${saved.gateways.join(", ")} offered, ${saved.default} by default.`);
    } catch (error) {
      fail(error);
    }
  });
  return form;
}
