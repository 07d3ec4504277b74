// The operator console: sign in, then pages picked by the URL's hash (#/page?city=...).
import { ApiError, el, session, signIn, signOut } from "../common/api.js";
import { booksPage, disputesPage, reportsPage } from "./casework.js";
import { citiesPage } from "./cities.js";
import { fleetPage } from "./fleet.js";
import { rebalancingPage } from "./rebalancing.js";
import { reconciliationPage } from "./reconciliation.js";
import { registerPage } from "./register.js";
import { zonesPage } from "./zones.js";

const PAGES = {
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

async function show() {
  leaving();
  leaving = () => {};
  const signedIn = session.token() && OPERATOR_ROLES.has(session.role());
  document.getElementById("nav").hidden = !signedIn;
  main.replaceChildren();
  if (!signedIn) return main.append(signInForm());
  const { page, params } = route();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("current", link.getAttribute("href") === `#/${page}`);
  }
  const render = PAGES[page];
  if (!render) return main.append(el("p", { class: "error" }, `No page "${page}".`));
  try {
    delete main.dataset.ready;
    await render(main, params, (stop) => {
      leaving = stop;
    });
    main.dataset.ready = page; // every control of the page answers from now on
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.forget();
      return show();
    }
    main.append(el("p", { class: "error", role: "alert" }, error.message));
  }
}

function signInForm() {
  const message = el("p", { class: "error", role: "alert", id: "sign-in-error" });
  const form = el(
    "form",
    { class: "card sign-in", id: "sign-in" },
    el("h1", {}, "Sign in"),
    el("label", {}, "Phone", el("input", { name: "phone", autocomplete: "username", required: true })),
    el(
      "label",
      {},
      "Password",
      el("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    el("button", { type: "submit" }, "Sign in"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const answer = await signIn(data.get("phone"), data.get("password"));
      if (!OPERATOR_ROLES.has(answer.role)) {
        await signOut();
        message.textContent = "This account is a rider's. The console is for operators.";
        return;
      }
      show();
    } catch (error) {
      message.textContent =
        error.code === "bad_credentials" ? "Wrong phone number or password." : error.message;
    }
  });
  return form;
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await signOut();
  show();
});
window.addEventListener("hashchange", show);
show();
