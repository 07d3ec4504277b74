// The city a page shows: from the URL (#/page?city=demo) so a page can be shared, else the
// one this tab looked at last, else the demo city. The picker lists the cities the platform
// runs (GET /api/v1/ops/cities), read once per tab until a page changes one.
import { t } from "../app/i18n.js";
import { api, el } from "../common/api.js";

const LAST = "rental.ops.city";
let cities = null;

export function cityOf(params) {
  const city = params.get("city") || sessionStorage.getItem(LAST) || "demo";
  sessionStorage.setItem(LAST, city);
  return city;
}

export async function knownCities(fresh = false) {
  if (fresh || !cities) cities = (await api("GET", "/api/v1/ops/cities")).cities;
  return cities;
}

export function forgetCities() {
  cities = null;
}

// The IANA time zone of a city ("Asia/Shanghai"), for times shown on its own clock.
export async function timeZoneOf(cityId) {
  const city = (await knownCities()).find((known) => known.id === cityId);
  return city ? city.time_zone : undefined;
}

// `iso` on the clock of `timeZone`, naming the zone (the operator may sit elsewhere).
export function cityTime(iso, timeZone) {
  return new Date(iso).toLocaleString(document.documentElement.lang, { timeZone, timeZoneName: "short" });
}

export function cityPicker(params, page) {
  const chosen = cityOf(params);
  const select = el("select", { id: "city", name: "city" }, el("option", { value: chosen }, chosen));
  const form = el("form", { class: "controls" }, el("label", {}, t("city.city"), select), el("button", { type: "submit" }, t("city.show")));
  knownCities()
    .then((found) => {
      const options = found.map((city) =>
        el("option", { value: city.id }, `${city.name} (${city.id})${city.retired_at ? t("city.retired_mark") : ""}`),
      );
      if (!found.some((city) => city.id === chosen)) options.unshift(el("option", { value: chosen }, chosen));
      select.replaceChildren(...options);
      select.value = chosen;
    })
    .catch(() => {}); // the page itself reports what failed
  const go = () => {
    location.hash = `#/${page}?city=${encodeURIComponent(select.value)}`;
  };
  select.addEventListener("change", go);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go();
  });
  return form;
}
