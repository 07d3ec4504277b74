// Reconciliation: each provider's daily statement held against our orders and refunds
// (`python -m rental reconcile`, run by cron), newest runs first, with what differed. The
// console only shows them: settling a difference moves money, which an operator does by
// hand at the provider or through support.
import { api, el } from "../common/api.js";
import { majorAmount } from "../common/money.js";

const KINDS = {
  missing_here: "On the statement, not ours",
  missing_there: "Ours, not on the statement",
  other_amount: "Other amount",
  other_state: "Other state",
  late_payment: "Late payment: the rider is owed it",
};

export async function reconciliationPage(main, params) {
  const gateway = params.get("gateway");
  const query = gateway ? `?gateway=${encodeURIComponent(gateway)}` : "";
  const { runs } = await api("GET", `/api/v1/ops/reconciliations${query}`);
  main.append(el("h1", {}, "Reconciliation"));
  if (!runs.length) main.append(el("p", { id: "no-runs" }, "No statement has been reconciled yet (docs/operations.md, Reconciliation)."));
  main.append(...runs.map(runCard));
}

function runCard(run) {
  const amount = (minor, currency) => (minor === null ? "—" : majorAmount(minor, currency));
  return el(
    "section",
    { class: "card", "data-run": run.id },
    el(
      "h2",
      {},
      `${run.gateway} · ${run.day} · ${run.statement_lines} line(s) · `,
      el("span", { class: run.differences.length ? "error" : "ok" }, `${run.differences.length} difference(s)`),
    ),
    el("p", {}, `Run at ${new Date(run.ran_at).toLocaleString()}`),
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
              ["What", "Of", "Our id", "Provider's trade", "Ours", "Theirs", "Our state", "Note"].map((title) => el("th", {}, title)),
            ),
          ),
          el(
            "tbody",
            {},
            run.differences.map((found) =>
              el(
                "tr",
                { class: `difference ${found.kind}`, "data-kind": found.kind },
                el("td", {}, KINDS[found.kind] || found.kind),
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
