// The operator console: sign in, then pages picked by the URL's hash (#/page?city=...). It
// speaks English or Simplified Chinese through the rider app's words module (its own
// message files, ops/messages/), in the language chosen in the bar, shared with the app.
import { chooseLanguage, currentLanguage, explain, languages, loadMessages, t, useMessagesFrom } from "../app/i18n.js";
import { append, ApiError, el, session, signIn, signOut } from "../common/api.js";
import { alertsPage } from "./alerts.js";
import { booksPage, disputesPage, reportsPage } from "./casework.js";
import { citiesPage } from "./cities.js";
import { dashboardPage } from "./dashboard.js";
import { demandPage } from "./demand.js";
import { fleetPage } from "./fleet.js";
import { funnelPage } from "./funnel.js";
import { rebalancingPage } from "./rebalancing.js";
import { reconciliationPage } from "./reconciliation.js";
import { registerPage } from "./register.js";
import { zonesPage } from "./zones.js";

const PAGES = {
  dashboard: dashboardPage,
  funnel: funnelPage,
  demand: demandPage,
  alerts: alertsPage,
  cities: citiesPage,
  fleet: fleetPage,
  register: registerPage,
  zones: zonesPage,
  reports: reportsPage,
  disputes: disputesPage,
  books: booksPage,
  reconciliation: reconciliationPage,
  rebalancing: rebalancingPage,
};
let leaving = () => {}; // a page's timers stop when another page opens
const OPERATOR_ROLES = new Set(["operator"]);
const main = document.getElementById("main");

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return { page: path || "fleet", params: new URLSearchParams(query || "") };
}

// Each show() takes the next number: a page still loading when another opens must not mark
// the console as its own, take over the new page's leaving, or draw an error there.
let showing = 0;

async function show() {
  const mine = ++showing;
  leaving();
  leaving = () => {};
  const signedIn = session.token() && OPERATOR_ROLES.has(session.role());
  document.getElementById("nav").hidden = !signedIn;
  main.replaceChildren();
  if (!signedIn) return append(main, signInForm());
  const { page, params } = route();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("current", link.getAttribute("href") === `#/${page}`);
  }
  const render = PAGES[page];
  if (!render) return append(main, el("p", { class: "error" }, t("console.no_page", { page })));
  try {
    delete main.dataset.ready;
    await render(main, params, (stop) => {
      if (mine === showing) leaving = stop;
      else stop(); // left before it was drawn
    });
    if (mine !== showing) return;
    main.dataset.ready = page; // every control of the page answers from now on
  } catch (error) {
    if (mine !== showing) return;
    if (error instanceof ApiError && error.status === 401) {
      session.forget();
      return show();
    }
    append(main, el("p", { class: "error", role: "alert" }, explain(error)));
  }
}

function signInForm() {
  const message = el("p", { class: "error", role: "alert", id: "sign-in-error" });
  const form = el(
    "form",
    { class: "card sign-in", id: "sign-in" },
    el("h1", {}, t("signin.title")),
    el("label", {}, t("signin.phone"), el("input", { name: "phone", autocomplete: "username", required: true })),
    el(
      "label",
      {},
      t("signin.password"),
      el("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    el("button", { type: "submit" }, t("signin.submit")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const answer = await signIn(data.get("phone"), data.get("password"));
      if (!OPERATOR_ROLES.has(answer.role)) {
        await signOut();
        message.textContent = t("signin.rider_account");
        return;
      }
      show();
    } catch (error) {
      message.textContent =
        error.code === "bad_credentials" ? t("signin.bad_credentials") : explain(error);
    }
  });
  return form;
}

// The bar's own words (data-words="key" in index.html), in the chosen language.
function translateBar() {
  document.title = t("console.title");
  for (const node of document.querySelectorAll("[data-words]")) node.textContent = t(node.dataset.words);
  const picker = document.getElementById("language");
  picker.setAttribute("aria-label", t("console.language"));
  picker.replaceChildren(
    ...Object.entries(languages).map(([code, name]) => el("option", { value: code, selected: code === currentLanguage() }, name)),
  );
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await signOut();
  show();
});
document.getElementById("language").addEventListener("change", async (event) => {
  chooseLanguage(event.target.value);
  await loadMessages();
  translateBar();
  show();
});
useMessagesFrom("/web/ops/messages");
await loadMessages();
translateBar();
window.addEventListener("hashchange", show);
show();
