// Bringing a vehicle into the fleet: provision its lock (the lock's broker password and
// signing key are shown once, to be written into the lock), register the vehicle with its
// code, and print the QR label that riders scan.
import { explain, t } from "../app/i18n.js";
import { append, api, el } from "../common/api.js";
import { cityOf } from "./city.js";

const KINDS = ["bike", "ebike", "power_bank", "umbrella", "basketball"];

export async function registerPage(main, params) {
  const credentials = el("section", { id: "lock-credentials" });
  const lockForm = el(
    "form",
    { class: "card stack", id: "provision-lock" },
    el("h2", {}, t("register.provision_title")),
    el("label", {}, t("register.lock_id_blank"), el("input", { name: "lock_id", placeholder: t("register.lock_id_hint") })),
    el("button", { type: "submit" }, t("register.provision")),
    credentials,
  );
  const label = el("section", { id: "labels" });
  const assetForm = el(
    "form",
    { class: "card stack", id: "register-asset" },
    el("h2", {}, t("register.vehicle_title")),
    el("label", {}, t("register.code"), el("input", { name: "code", required: true, placeholder: t("register.code_hint") })),
    el("label", {}, t("register.kind"), el("select", { name: "kind" }, KINDS.map((kind) => el("option", { value: kind }, t(`kind.${kind}`))))),
    el("label", {}, t("register.lock_id"), el("input", { name: "lock_id", required: true })),
    el("label", {}, t("register.city"), el("input", { name: "city_id", required: true, value: cityOf(params) })),
    el("button", { type: "submit" }, t("register.register")),
  );
  const message = el("p", { class: "error", role: "alert", id: "register-error" });
  append(main, el("h1", {}, t("register.title")), el("div", { class: "columns" }, lockForm, assetForm), message, label);

  lockForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const lockId = new FormData(lockForm).get("lock_id").trim();
    try {
      const lock = await api("POST", "/api/v1/ops/locks", lockId ? { lock_id: lockId } : {});
      credentials.replaceChildren(
        el("p", { class: "warning" }, t("register.write_now")),
        el(
          "dl",
          { class: "figures" },
          el("dt", {}, t("register.lock_id")), el("dd", { id: "new-lock-id" }, lock.lock_id),
          el("dt", {}, t("register.broker")), el("dd", { id: "new-lock-broker" }, lock.mqtt.broker),
          el("dt", {}, t("register.username")), el("dd", {}, lock.mqtt.username),
          el("dt", {}, t("register.password")), el("dd", { class: "secret" }, lock.mqtt.password),
          el("dt", {}, t("register.signing_key")), el("dd", { class: "secret" }, lock.signing_key),
          // The CA the lock verifies the broker's TLS certificate against (lock protocol §2).
          ...(lock.mqtt.ca
            ? [el("dt", {}, t("register.broker_ca")), el("dd", {}, el("pre", { id: "new-lock-ca", class: "certificate" }, lock.mqtt.ca))]
            : []),
        ),
      );
      assetForm.elements.lock_id.value = lock.lock_id;
    } catch (error) {
      message.textContent = explain(error);
    }
  });

  assetForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const body = Object.fromEntries(new FormData(assetForm));
    try {
      const asset = await api("POST", "/api/v1/ops/assets", body);
      label.replaceChildren(
        el(
          "figure",
          { class: "label", id: `label-${asset.code}` },
          el("img", { src: asset.qr_image, alt: asset.qr }),
          el("figcaption", {}, el("strong", {}, asset.code), el("span", {}, ` ${t(`kind.${asset.kind}`)}`)),
        ),
        el("p", { class: "no-print" }, el("button", { type: "button", onclick: () => window.print() }, t("register.print"))),
      );
      assetForm.reset();
      assetForm.elements.city_id.value = body.city_id;
    } catch (error) {
      message.textContent = explain(error);
    }
  });
}
