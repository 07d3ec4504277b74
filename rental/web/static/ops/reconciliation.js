// Reconciliation: each provider's daily statement held against our orders and refunds
// (`python -m rental reconcile`, run by cron), newest runs first, with what differed. The
// console only shows them: settling a difference moves money, which an operator does by
// hand at the provider or through support.
import { label, t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { majorAmount } from "../common/money.js";

const COLUMNS = ["what", "of", "reference", "trade", "ours", "theirs", "our_state", "note"];

export async function reconciliationPage(main, params) {
  const gateway = params.get("gateway");
  const query = gateway ? `?gateway=${encodeURIComponent(gateway)}` : "";
  const { runs } = await api("GET", `/api/v1/ops/reconciliations${query}`);
  append(main, el("h1", {}, t("reconciliation.title")));
  if (!runs.length) append(main, el("p", { id: "no-runs" }, t("reconciliation.none")));
  append(main, ...runs.map(runCard));
}

function runCard(run) {
  const amount = (minor, currency) => (minor === null ? "—" : majorAmount(minor, currency));
  return el(
    "section",
    { class: "card", "data-run": run.id },
    el(
      "h2",
      {},
      `${t("reconciliation.run", { gateway: run.gateway, day: run.day, lines: run.statement_lines })} · `,
      el("span", { class: run.differences.length ? "error" : "ok" }, t("reconciliation.differences", { count: run.differences.length })),
    ),
    el("p", {}, t("reconciliation.ran_at", { time: new Date(run.ran_at).toLocaleString() })),
    run.differences.length
      ? el(
          "table",
          { class: "rows" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              COLUMNS.map((column) => el("th", {}, t(`reconciliation.column.${column}`))),
            ),
          ),
          el(
            "tbody",
            {},
            run.differences.map((found) =>
              el(
                "tr",
                { class: `difference ${found.kind}`, "data-kind": found.kind },
                el("td", {}, label("difference", found.kind)),
                el("td", {}, found.subject),
                el("td", {}, found.reference),
                el("td", {}, found.trade_no),
                el("td", { class: "amount" }, amount(found.ours_minor, found.currency)),
                el("td", { class: "amount" }, amount(found.theirs_minor, found.currency)),
                el("td", {}, found.ours_state || "—"),
                el("td", {}, found.note),
              ),
            ),
          ),
        )
      : null,
  );
}
