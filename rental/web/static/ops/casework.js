// Cases an operator closes: open damage reports, riders' disputes (with a refund or not),
// and the books: proof that every posting balances.
import { api, el } from "../common/api.js";
import { majorAmount } from "../common/money.js";
import { cityOf, cityPicker, cityTime, timeZoneOf } from "./city.js";

const when = (iso) => new Date(iso).toLocaleString();

export async function reportsPage(main, params) {
  const city = cityOf(params);
  const zone = await timeZoneOf(city).catch(() => undefined);
  const { reports } = await api("GET", `/api/v1/ops/damage-reports?city_id=${encodeURIComponent(city)}&state=open`);
  main.append(el("h1", {}, "Open damage reports"), cityPicker(params, "reports"));
  if (!reports.length) return main.append(el("p", { class: "muted", id: "no-reports" }, "No open reports."));
  // One case per asset: whoever looks at the asset closes all its reports at once.
  const byAsset = new Map();
  for (const report of reports) byAsset.set(report.asset_code, [...(byAsset.get(report.asset_code) ?? []), report]);
  main.append(
    el(
      "div",
      { id: "reports" },
      [...byAsset].map(([code, open]) => {
        const resolution = el("input", { name: "resolution", placeholder: "What was done, e.g. brakes replaced", required: true });
        const categories = [...new Set(open.map((report) => report.category))].join(", ");
        const form = el(
          "form",
          { class: "card stack", "data-asset": code },
          el("h2", {}, `${code}: ${categories}`),
          open.map((report) =>
            el("p", {}, report.note || "(no note)", el("span", { class: "muted" }, ` · ${report.category}, reported ${cityTime(report.created_at, zone)}`)),
          ),
          el("label", {}, "Resolution", resolution),
          el("button", { type: "submit" }, open.length > 1 ? `Close all ${open.length} reports` : "Close the report"),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            await api("POST", `/api/v1/ops/assets/${encodeURIComponent(code)}/damage-reports/close`, { resolution: resolution.value });
            form.replaceChildren(el("p", { class: "ok" }, `${code}: closed.`));
          } catch (error) {
            form.append(el("p", { class: "error" }, error.message));
          }
        });
        return form;
      }),
    ),
  );
}

export async function disputesPage(main) {
  const { disputes } = await api("GET", "/api/v1/ops/disputes?state=open");
  main.append(el("h1", {}, "Open disputes"));
  if (!disputes.length) return main.append(el("p", { class: "muted", id: "no-disputes" }, "No open disputes."));
  main.append(
    el(
      "div",
      { id: "disputes" },
      disputes.map((dispute) => {
        const refund = el("input", { name: "refund", type: "number", min: 0, step: "0.01", value: "0" });
        const note = el("input", { name: "note", placeholder: "What the rider is told", required: true });
        const form = el(
          "form",
          { class: "card stack", "data-dispute": dispute.id },
          el("h2", {}, `Ride ${dispute.rental_id.slice(0, 8)}`),
          el("p", {}, dispute.reason, el("span", { class: "muted" }, ` · opened ${when(dispute.created_at)}`)),
          el("label", {}, "Refund (in the fare's currency; 0 to refuse)", refund),
          el("label", {}, "Note", note),
          el("button", { type: "submit" }, "Resolve"),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            const done = await api("POST", `/api/v1/ops/disputes/${dispute.id}/resolution`, {
              refund_minor: Math.round(Number(refund.value) * 100),
              note: note.value,
            });
            form.replaceChildren(el("p", { class: "ok" }, `Resolved: ${done.state}.`));
          } catch (error) {
            form.append(el("p", { class: "error" }, error.message));
          }
        });
        return form;
      }),
    ),
  );
}

export async function booksPage(main) {
  const books = await api("GET", "/api/v1/ops/books");
  main.append(
    el("h1", {}, "Books"),
    el(
      "p",
      { id: "books-state", class: books.balanced ? "ok" : "error" },
      books.balanced
        ? "Balanced: every transaction sums to zero, and every account's balance equals its postings."
        : `Out of balance: ${JSON.stringify(books.unbalanced)}; ${books.accounts_out_of_step} accounts out of step.`,
    ),
    el(
      "table",
      { class: "rows card" },
      el("thead", {}, el("tr", {}, el("th", {}, "Currency"), el("th", {}, "Account"), el("th", { class: "amount" }, "Total"))),
      el(
        "tbody",
        {},
        books.totals.map((row) =>
          el("tr", {}, el("td", {}, row.currency), el("td", {}, row.kind), el("td", { class: "amount" }, majorAmount(row.total_minor, row.currency))),
        ),
      ),
    ),
  );
}
