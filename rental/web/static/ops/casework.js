// Cases an operator closes: open damage reports, riders' disputes (each opened with what
// judging it needs, ./dispute_case.js; closed with a refund or not),
// and the books: proof that every posting balances.
import { explain, label, t } from "../app/i18n.js";
import { append, api, download, el, fetchBlob } from "../common/api.js";
import { majorAmount } from "../common/money.js";
import { cityOf, cityPicker, cityTime, knownCities, timeZoneOf } from "./city.js";
import { caseOpener } from "./dispute_case.js";

const when = (iso) => new Date(iso).toLocaleString(document.documentElement.lang);

export async function reportsPage(main, params) {
  const city = cityOf(params);
  const zone = await timeZoneOf(city).catch(() => undefined);
  const { reports } = await api("GET", `/api/v1/ops/damage-reports?city_id=${encodeURIComponent(city)}&state=open`);
  append(main, el("h1", {}, t("reports.title")), cityPicker(params, "reports"));
  if (!reports.length) return append(main, el("p", { class: "muted", id: "no-reports" }, t("reports.none")));
  // One case per asset: whoever looks at the asset closes all its reports at once.
  const byAsset = new Map();
  for (const report of reports) byAsset.set(report.asset_code, [...(byAsset.get(report.asset_code) ?? []), report]);
  append(main,
    el(
      "div",
      { id: "reports" },
      [...byAsset].map(([code, open]) => {
        const resolution = el("input", { name: "resolution", placeholder: t("reports.resolution_hint"), required: true });
        const categories = [...new Set(open.map((report) => t(`category.${report.category}`)))].join(t("list.separator"));
        const form = el(
          "form",
          { class: "card stack", "data-asset": code },
          el("h2", {}, `${code}: ${categories}`),
          open.flatMap((report) => [
            el("p", {}, report.note || t("reports.no_note"), el("span", { class: "muted" }, t("reports.reported", { category: t(`category.${report.category}`), when: cityTime(report.created_at, zone) }))),
            report.photo_url ? reportPhoto(report, code) : null,
          ]),
          el("label", {}, t("reports.resolution"), resolution),
          el("button", { type: "submit" }, open.length > 1 ? t("reports.close_all", { n: open.length }) : t("reports.close_one")),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            await api("POST", `/api/v1/ops/assets/${encodeURIComponent(code)}/damage-reports/close`, { resolution: resolution.value });
            form.replaceChildren(el("p", { class: "ok" }, t("reports.closed", { code })));
          } catch (error) {
            form.append(el("p", { class: "error" }, explain(error)));
          }
        });
        return form;
      }),
    ),
  );
}

// The rider's photo on a report: fetched with the operator's token (an <img src> cannot
// carry it) and shown from a blob: URL, released once the picture is drawn.
function reportPhoto(report, code) {
  const image = el("img", {
    class: "report-photo",
    "data-report": report.id,
    alt: t("reports.photo", { code, category: t(`category.${report.category}`) }),
  });
  const figure = el("figure", { class: "report-photo" }, image);
  fetchBlob(report.photo_url)
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      image.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      image.addEventListener("error", () => URL.revokeObjectURL(url), { once: true });
      image.src = url;
    })
    .catch((error) => figure.replaceChildren(el("p", { class: "error" }, t("reports.photo_unavailable", { message: error.message }))));
  return figure;
}

export async function disputesPage(main) {
  const { disputes } = await api("GET", "/api/v1/ops/disputes?state=open");
  // A dispute is read on its city's clock, as its case is. The list does not name the
  // city: the cities' one time zone when they share one, each card's own once its case
  // is open (the case names it).
  const zones = new Set((await knownCities().catch(() => [])).map((city) => city.time_zone));
  const shared = zones.size === 1 ? [...zones][0] : undefined;
  const opened = (iso, timeZone) => t("disputes.opened", { when: timeZone ? cityTime(iso, timeZone) : when(iso) });
  append(main, el("h1", {}, t("disputes.title")));
  if (!disputes.length) return append(main, el("p", { class: "muted", id: "no-disputes" }, t("disputes.none")));
  append(main,
    el(
      "div",
      { id: "disputes" },
      disputes.map((dispute) => {
        const refund = el("input", { name: "refund", type: "number", min: 0, step: "0.01", value: "0" });
        const note = el("input", { name: "note", placeholder: t("disputes.note_hint"), required: true });
        const openedAt = el("span", { class: "muted opened" }, opened(dispute.created_at, shared));
        const form = el(
          "form",
          { class: "card stack", "data-dispute": dispute.id },
          el("h2", {}, t("disputes.ride", { id: dispute.rental_id.slice(0, 8) })),
          el("p", {}, dispute.reason, openedAt),
          caseOpener(dispute.id, (found) => {
            refund.max = majorAmount(found.receipt.refundable_minor, found.receipt.currency);
            openedAt.textContent = opened(dispute.created_at, found.receipt.time_zone);
          }),
          el("label", {}, t("disputes.refund"), refund),
          el("label", {}, t("disputes.note"), note),
          el("button", { type: "submit" }, t("disputes.resolve")),
        );
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            const done = await api("POST", `/api/v1/ops/disputes/${dispute.id}/resolution`, {
              refund_minor: Math.round(Number(refund.value) * 100),
              note: note.value,
            });
            form.replaceChildren(el("p", { class: "ok" }, t("disputes.resolved", { state: t(`dispute.${done.state}`) })));
          } catch (error) {
            form.append(el("p", { class: "error" }, explain(error)));
          }
        });
        return form;
      }),
    ),
  );
}

export async function booksPage(main) {
  const books = await api("GET", "/api/v1/ops/books");
  append(main,
    el("h1", {}, t("books.title")),
    el("p", { class: "controls" }, el("button", { type: "button", id: "export-books", onclick: () => download("/api/v1/ops/exports/books.csv", "books.csv") }, t("books.export"))),
    el(
      "p",
      { id: "books-state", class: books.balanced ? "ok" : "error" },
      books.balanced
        ? t("books.balanced")
        : t("books.unbalanced", { unbalanced: JSON.stringify(books.unbalanced), n: books.accounts_out_of_step }),
    ),
    el(
      "table",
      { class: "rows card" },
      el("thead", {}, el("tr", {}, el("th", {}, t("books.currency")), el("th", {}, t("books.account")), el("th", { class: "amount" }, t("books.total")))),
      el(
        "tbody",
        {},
        books.totals.map((row) =>
          el("tr", {}, el("td", {}, row.currency), el("td", {}, label("account", row.kind)), el("td", { class: "amount" }, majorAmount(row.total_minor, row.currency))),
        ),
      ),
    ),
  );
}
