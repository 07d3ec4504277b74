// The city a page shows: from the URL (#/page?city=demo) so a page can be shared, else the
// one this tab looked at last, else the demo city.
import { el } from "../common/api.js";

const LAST = "rental.ops.city";

export function cityOf(params) {
  const city = params.get("city") || sessionStorage.getItem(LAST) || "demo";
  sessionStorage.setItem(LAST, city);
  return city;
}

export function cityPicker(params, page) {
  const input = el("input", { id: "city", name: "city", value: cityOf(params), size: 12 });
  const form = el("form", { class: "controls" }, el("label", {}, "City ", input), el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/${page}?city=${encodeURIComponent(input.value.trim())}`;
  });
  return form;
}
