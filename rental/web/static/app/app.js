// The rider app: a small-screen-first single page over the public API. Screens are picked
// by the URL's hash (#/map, #/scan, #/unlock/BK00001, #/trip/<id>, ...).
import { append, api, ApiError, el, keepSignedIn, session, signIn, signInWithCode, signOut, signUpWithCode } from "../common/api.js";
import { cityNear, drawRoute as drawTrip, drawZones, makeMap, markerClusters, webSettings } from "../common/map.js";
import { flush as sendFunnelSteps, reached } from "./funnel.js";
import {
  chooseLanguage,
  currentLanguage,
  describeLine,
  describePrice,
  explain,
  label,
  languages,
  loadMessages,
  money,
  t,
} from "./i18n.js";

keepSignedIn();
const main = document.getElementById("main");
const POLL_MS = 2000;
const PRINTABLE_REFRESH_MS = 5 * 60 * 1000; // a printable link is good for 15 minutes
let leaving = () => {}; // stops the current screen's timers when another one opens

const SCREENS = {
  map: mapScreen,
  scan: scanScreen,
  unlock: unlockScreen,
  trip: tripScreen,
  receipt: receiptScreen,
  trips: tripsScreen,
  wallet: walletScreen,
  hold: holdScreen,
  me: meScreen,
  report: reportScreen,
  help: helpScreen,
};
const OPEN = { code: codeScreen, signin: signInScreen, signup: signUpScreen };

function go(path) {
  location.hash = `#/${path}`;
}

// On start, a rider in the middle of a ride (or holding a vehicle) is taken back to it,
// whatever screen the app opened on: the app may have been closed or reloaded meanwhile.
// Whether it went there (the hash changed: its screen shows by itself).
async function resume() {
  const name = location.hash.replace(/^#\/?/, "").split("/")[0];
  if (!(session.token() && session.role() === "rider") || !["", "map", "scan"].includes(name)) return false;
  const ongoing = await ongoingRide().catch(() => null);
  const target = ongoing ? `trip/${ongoing.id}` : (await currentHold().catch(() => null)) ? "hold" : null;
  if (target) go(target);
  return Boolean(target);
}

// The rider's rental still unlocking or riding, if any (newest first; one at a time).
async function ongoingRide() {
  const { rentals } = await api("GET", "/api/v1/rentals?limit=20");
  return rentals.find((rental) => rental.state === "active" || rental.state === "unlocking") || null;
}

async function currentHold() {
  try {
    return await api("GET", "/api/v1/reservations/current");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

// Each show() takes the next number: a screen still loading when another opens (a tap on a
// tab, a link, the back button) must not mark the page as its own or draw an error there.
let showing = 0;

async function show() {
  const mine = ++showing;
  leaving();
  leaving = () => {};
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const signedIn = session.token() && session.role() === "rider";
  const screen = signedIn ? SCREENS[name || "map"] : OPEN[name] || codeScreen;
  document.getElementById("tabs").hidden = !signedIn;
  for (const tab of document.querySelectorAll("#tabs a")) {
    tab.classList.toggle("current", tab.dataset.screen === (name || "map"));
    tab.querySelector("span").textContent = t(`nav.${tab.dataset.screen}`);
  }
  main.replaceChildren();
  delete main.dataset.ready;
  if (!screen) return go("map");
  try {
    await screen(...rest.map(decodeURIComponent));
  } catch (error) {
    if (mine !== showing) return;
    if (error instanceof ApiError && error.status === 401) {
      session.forget();
      return go("code");
    }
    append(main, notice(error));
  }
  if (mine !== showing) return; // another screen opened meanwhile
  // The screen is drawn: tests (and assistive tools) may read it from now on.
  main.dataset.ready = signedIn ? name || "map" : OPEN[name] ? name : "code";
}

function notice(error) {
  return el("p", { class: "notice error", role: "alert" }, error instanceof ApiError ? explain(error) : String(error));
}

// A ride the rider cannot open (no such id, or another rider's): a plain notice, in place
// of a screen that would wait for it. Whether `error` was that.
function noSuchRide(error) {
  if (!(error instanceof ApiError && (error.status === 404 || error.status === 400))) return false;
  main.replaceChildren(el("p", { class: "notice error", role: "alert", id: "no-such-ride" }, t("ride.not_found")));
  return true;
}

function screenTitle(key) {
  return el("h1", {}, t(key));
}

// A fresh idempotency key per action (randomUUID needs a secure context; this does not).
function key() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function every(ms, task) {
  let stopped = false;
  const timer = setInterval(() => !stopped && task(), ms);
  const previous = leaving;
  leaving = () => {
    stopped = true;
    clearInterval(timer);
    previous();
  };
}

// --- signing in -----------------------------------------------------------------------

function credentialsForm(titleKey, submitKey, onSubmit, otherKey, otherPath) {
  const message = el("p", { class: "error", role: "alert", id: "form-error" });
  const form = el(
    "form",
    { class: "card stack", id: "credentials" },
    screenTitle(titleKey),
    el("label", {}, t("signin.phone"), el("input", { name: "phone", type: "tel", autocomplete: "tel", required: true })),
    el(
      "label",
      {},
      t("signin.password"),
      el("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    el("button", { type: "submit", class: "primary" }, t(submitKey)),
    message,
    el("a", { href: `#/${otherPath}` }, t(otherKey)),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      await onSubmit(data);
      go("map");
    } catch (error) {
      message.textContent = explain(error);
    }
  });
  return form;
}

// The phone field, the button that texts a code to it, and the field for the code: the
// proof of the number that signing in and signing up both start with.
function codeFields(message) {
  const phone = el("input", { name: "phone", type: "tel", autocomplete: "tel", required: true });
  const sent = el("p", { class: "notice", id: "code-sent" });
  const code = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", required: true });
  const send = el("button", { type: "button", id: "send-code" }, t("code.send"));
  send.addEventListener("click", async () => {
    message.textContent = "";
    sent.textContent = "";
    try {
      const answer = await api("POST", "/api/v1/auth/sms-codes", { phone: phone.value });
      sent.textContent = t("code.sent", { phone: answer.phone, minutes: Math.round(answer.expires_in / 60) });
      code.focus();
    } catch (error) {
      message.textContent = explain(error);
    }
  });
  return [el("label", {}, t("signin.phone"), phone), send, sent, el("label", {}, t("code.code"), code)];
}

function refuseOperators(answer) {
  if (answer.role === "rider") return;
  throw new ApiError(403, "operator_account", "this account is an operator's: use the console at /ops/");
}

// The way sharing apps sign in: a code texted to the phone, no password. A number seen
// the first time gets its account; the answers never say whether a number had one. An
// account made by the old password sign-up sends its password once with a code.
async function codeScreen() {
  const message = el("p", { class: "error", role: "alert", id: "form-error" });
  const password = el("label", { id: "link-password", hidden: true }, t("code.password"), el("input", { name: "password", type: "password", autocomplete: "current-password" }));
  const form = el(
    "form",
    { class: "card stack", id: "sms-sign-in" },
    screenTitle("code.title"),
    ...codeFields(message),
    password,
    el("button", { type: "submit", class: "primary" }, t("code.submit")),
    message,
    el("a", { href: "#/signup" }, t("code.to_signup")),
    el("a", { href: "#/signin" }, t("code.to_password")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { phone, code, password: typed } = Object.fromEntries(new FormData(form));
    try {
      const answer = await signInWithCode(phone, code, typed);
      try {
        refuseOperators(answer);
      } catch (error) {
        await signOut();
        throw error;
      }
      go("map");
    } catch (error) {
      if (error.code === "password_required") password.hidden = false;
      message.textContent = explain(error);
    }
  });
  append(main, form);
}

async function signInScreen() {
  append(main,
    credentialsForm("signin.title", "signin.submit", async ({ phone, password }) => {
      const answer = await signIn(phone, password);
      if (answer.role !== "rider") {
        await signOut();
        throw new ApiError(403, "operator_account", "this account is an operator's: use the console at /ops/");
      }
    }, "signin.to_signup", "signup"),
  );
}

// Sign-up proves the number with a texted code; the password is optional (codes sign in).
async function signUpScreen() {
  const message = el("p", { class: "error", role: "alert", id: "form-error" });
  const form = el(
    "form",
    { class: "card stack", id: "sign-up" },
    screenTitle("signup.title"),
    ...codeFields(message),
    el("label", {}, t("signup.name"), el("input", { name: "name", autocomplete: "name", required: true })),
    el("label", {}, t("signup.password"), el("input", { name: "password", type: "password", autocomplete: "new-password" })),
    el("button", { type: "submit", class: "primary" }, t("signup.submit")),
    message,
    el("a", { href: "#/code" }, t("signup.to_signin")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { phone, code, name, password } = Object.fromEntries(new FormData(form));
    try {
      refuseOperators(await signUpWithCode({ phone, code, name, password: password || undefined }));
      go("map");
    } catch (error) {
      if (error.code === "operator_account") await signOut();
      message.textContent = explain(error);
    }
  });
  append(main, form);
}

// --- the map ----------------------------------------------------------------------------

async function mapScreen() {
  const box = el("div", { class: "map", id: "map" });
  const status = el("div", { class: "notice", id: "map-status" }, t("map.locating"));
  const sheet = el("section", { class: "sheet", id: "vehicle" });
  append(main, box, status, sheet);
  const [map] = await Promise.all([makeMap(box), markerClusters()]);
  const markers = vehicleClusters(map, sheet, () => rider).addTo(map);
  const here = L.circleMarker([0, 0], { radius: 8, color: "#fff", weight: 3, fillColor: "#0072b2", fillOpacity: 1, interactive: false });
  const { center } = await webSettings();
  const ongoing = ongoingNotice();
  main.insertBefore(ongoing, box);
  showOngoing(ongoing, map).catch(() => {});

  let first = true;
  const zonesOf = zonesDrawer(map);
  async function load() {
    const { lat, lng } = map.getCenter();
    zonesOf([lat, lng]).catch(() => {});
    cityNear([lat, lng]).then((city) => reached("map_opened", city?.id)).catch(() => {});
    const found = await api("GET", `/api/v1/vehicles/nearby?lat=${lat}&lon=${lng}&radius_m=1500&limit=50`);
    markers.clearLayers();
    markers.addLayers(
      found.vehicles.map((vehicle) =>
        L.marker([vehicle.position.lat, vehicle.position.lon], {
          icon: L.divIcon({ className: `vehicle-marker kind-${vehicle.kind}`, html: vehicle.kind[0].toUpperCase(), iconSize: [26, 26] }),
          title: vehicle.code,
          vehicle,
        }).on("click", () => showVehicle(sheet, vehicle, rider)),
      ),
    );
    status.textContent = found.vehicles.length ? "" : t("map.none");
    if (first && found.vehicles.length) {
      // Open on where the rider is and the nearest few vehicles, all in sight.
      first = false;
      const near = found.vehicles.slice(0, 3).map((v) => [v.position.lat, v.position.lon]);
      map.fitBounds(L.latLngBounds([[lat, lng], ...near]).pad(0.25), { maxZoom: 17, animate: false });
    }
  }

  // Where the rider is (null until the phone says): distances are measured from there,
  // never from the map's centre, which the rider moves about to look elsewhere.
  let rider = null;
  // No animation: a zoom animation still running would undo the fit to the first vehicles.
  map.setView([center.lat, center.lon], 16, { animate: false });
  if (navigator.geolocation) {
    let located = false;
    const watch = navigator.geolocation.watchPosition(
      (where) => {
        rider = L.latLng(where.coords.latitude, where.coords.longitude);
        here.setLatLng(rider).addTo(map);
        if (!located) map.setView(rider, 16);
        located = true;
      },
      () => {},
      { timeout: 5000, maximumAge: 60000 },
    );
    const previous = leaving;
    leaving = () => {
      navigator.geolocation.clearWatch(watch);
      previous();
    };
  }
  const report = (error) => status.replaceChildren(notice(error));
  map.on("moveend", () => load().catch(report));
  await load().catch(report);
}

// The zones of the city a map looks at, drawn once per city: riders see where they may
// ride and end a trip (a receipt's parking advice points at them).
function zonesDrawer(map) {
  const drawn = new Set();
  return async (latlng) => {
    const city = await cityNear(latlng);
    if (city) lastCity = city;
    if (!city || drawn.has(city.id)) return;
    drawn.add(city.id);
    if (!(await drawZones(map, city.id))) drawn.delete(city.id);
  };
}

// Vehicles too close together to tap one by one (a cabinet's power banks, bikes parked side
// by side, a crowd seen from afar) are one marker that says how many (Leaflet.markercluster).
// Tapping it lists them when they stand at one spot or the map is zoomed in all the way,
// and zooms in on them otherwise. `whereRider()`: the rider's LatLng, or null.
const ONE_SPOT_M = 15;
let CountIcon = null; // made once Leaflet is loaded: a div icon that carries its title
function countIcon(options) {
  CountIcon ??= L.DivIcon.extend({
    createIcon(old) {
      const icon = L.DivIcon.prototype.createIcon.call(this, old);
      icon.title = this.options.title;
      return icon;
    },
  });
  return new CountIcon(options);
}

function vehicleClusters(map, sheet, whereRider) {
  const clusters = L.markerClusterGroup({
    maxClusterRadius: 36,
    showCoverageOnHover: false,
    zoomToBoundsOnClick: false,
    spiderfyOnMaxZoom: false,
    iconCreateFunction: (cluster) => {
      const n = cluster.getChildCount();
      const [first] = cluster.getAllChildMarkers();
      return countIcon({
        className: `vehicle-marker spot kind-${first.options.vehicle.kind}`,
        html: String(n),
        iconSize: [30, 30],
        title: t("map.spot", { n }),
      });
    },
  });
  clusters.on("clusterclick", (event) => {
    const children = event.layer.getAllChildMarkers();
    const [first] = children;
    const apart = Math.max(...children.map((marker) => marker.getLatLng().distanceTo(first.getLatLng())));
    if (apart <= ONE_SPOT_M || map.getZoom() >= map.getMaxZoom()) {
      showSpot(sheet, children.map((marker) => marker.options.vehicle), whereRider());
    } else {
      event.layer.zoomToBounds({ padding: [48, 48] });
    }
  });
  return clusters;
}

function showSpot(sheet, spot, rider) {
  sheet.replaceChildren(
    el("h2", {}, t("map.spot", { n: spot.length })),
    el(
      "ul",
      { class: "list", id: "spot" },
      spot.map((vehicle) =>
        el(
          "li",
          {},
          el("button", { class: "link", onclick: () => showVehicle(sheet, vehicle, rider) }, `${t(`kind.${vehicle.kind}`)} ${vehicle.code}`),
          vehicle.battery_pct == null ? null : el("span", { class: "amount" }, t("vehicle.battery", { pct: vehicle.battery_pct })),
        ),
      ),
    ),
  );
}

function ongoingNotice() {
  return el("p", { class: "notice ok", id: "ongoing", hidden: true });
}

// Back to the ride, or to the hold, from the map: neither is ever out of reach. The held
// vehicle, which search no longer shows, has a marker of its own.
async function showOngoing(banner, map) {
  const ride = await ongoingRide();
  if (ride) {
    banner.replaceChildren(el("a", { href: `#/trip/${ride.id}` }, t("map.back_to_ride")));
    banner.hidden = false;
    return;
  }
  const hold = await currentHold();
  if (hold) {
    const vehicle = heldName(hold);
    banner.replaceChildren(el("a", { href: "#/hold" }, t("map.back_to_hold", { vehicle, time: clock(hold.expires_at) })));
    banner.hidden = false;
    if (hold.vehicle?.position) {
      const marker = heldMarker(hold).addTo(map);
      // The bike the rider is walking to stays in sight, with where the map looks.
      const where = marker.getLatLng();
      if (!map.getBounds().pad(-0.1).contains(where)) {
        map.fitBounds(L.latLngBounds([map.getCenter(), where]).pad(0.3), { maxZoom: 17, animate: false });
      }
    }
  }
}

function heldName(hold) {
  return hold.vehicle ? t("reservation.vehicle", { kind: t(`kind.${hold.vehicle.kind}`), code: hold.vehicle.code }) : "";
}

function heldMarker(hold) {
  const { kind, code, position } = hold.vehicle;
  return L.marker([position.lat, position.lon], {
    icon: L.divIcon({ className: `vehicle-marker held kind-${kind}`, html: "★", iconSize: [30, 30] }),
    title: t("map.held", { vehicle: heldName(hold) }),
    zIndexOffset: 1000,
  })
    .on("click", () => go("hold"))
    .bindTooltip(code);
}

function showVehicle(sheet, vehicle, rider) {
  reached("vehicle_viewed", vehicle.city_id);
  const away = rider ? Math.round(rider.distanceTo([vehicle.position.lat, vehicle.position.lon])) : null;
  sheet.replaceChildren(
    el("h2", {}, `${t(`kind.${vehicle.kind}`)} ${vehicle.code}`),
    el(
      "p",
      { id: "vehicle-facts" },
      away == null ? null : el("span", { id: "vehicle-away" }, t("vehicle.away", { m: away })),
      away != null && vehicle.battery_pct != null ? " · " : null,
      vehicle.battery_pct == null ? null : t("vehicle.battery", { pct: vehicle.battery_pct }),
      vehicle.range_m == null ? null : " · ",
      vehicle.range_m == null ? null : el("span", { id: "vehicle-range" }, t("vehicle.range", { km: kilometres(vehicle.range_m) })),
    ),
    vehicle.price ? el("p", { class: "price" }, describePrice(vehicle.price)) : null,
    el(
      "div",
      { class: "actions" },
      el("button", { class: "primary", onclick: () => go(`unlock/${vehicle.code}`) }, t("vehicle.ride")),
      el("button", { onclick: () => reserve(sheet, vehicle.code) }, t("vehicle.reserve")),
    ),
  );
}

// An e-bike's range as riders read it: "43.8" (km), in the app's language.
function kilometres(metres) {
  return new Intl.NumberFormat(currentLanguage(), { maximumFractionDigits: 1 }).format(metres / 1000);
}

async function reserve(sheet, code) {
  try {
    const hold = await api("POST", "/api/v1/reservations", { code, idempotency_key: key() });
    sheet.append(el("p", { class: "notice ok" }, t("reservation.made", { time: clock(hold.expires_at) })));
    go("hold");
  } catch (error) {
    sheet.append(notice(error));
  }
}

// --- scanning ---------------------------------------------------------------------------

// A QR code holds https://.../q/<code>; typed codes come bare.
function codeFrom(text) {
  const match = /\/q\/([^/?#\s]+)/.exec(text);
  return (match ? match[1] : text).trim().toUpperCase();
}

async function scanScreen() {
  const video = el("video", { playsinline: true, muted: true, class: "camera" });
  const status = el("p", { class: "notice" }, t("scan.hint"));
  const form = el(
    "form",
    { class: "stack", id: "type-code" },
    el("label", {}, t("scan.type"), el("input", { name: "code", placeholder: t("scan.code"), autocapitalize: "characters", required: true })),
    el("button", { type: "submit", class: "primary" }, t("scan.go")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(`unlock/${encodeURIComponent(codeFrom(new FormData(form).get("code")))}`);
  });
  append(main, screenTitle("scan.title"), video, status, form);
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    await video.play();
    const previous = leaving;
    leaving = () => {
      stream.getTracks().forEach((track) => track.stop());
      previous();
    };
  } catch {
    video.hidden = true;
    status.textContent = t("scan.no_camera");
    return;
  }
  readCodes(video, (text) => go(`unlock/${encodeURIComponent(codeFrom(text))}`));
}

// The browser's own BarcodeDetector where it reads QR codes; jsQR on frames otherwise, and
// on every frame the detector read nothing in. Some detectors exist without reading QR
// codes (Android without Play services, some iOS builds): no formats supported, a
// constructor that throws, or a detect() that rejects; those are given up for jsQR.
function readCodes(video, found) {
  let done = false;
  const previous = leaving;
  leaving = () => {
    done = true;
    previous();
  };
  const read = qrReader();
  async function look() {
    if (done || !video.videoWidth) return !done && requestAnimationFrame(look);
    const text = await (await read)(video);
    if (done) return;
    if (text) {
      done = true;
      found(text);
    } else {
      setTimeout(() => requestAnimationFrame(look), 150);
    }
  }
  requestAnimationFrame(look);
}

// A function from a video to the text of a QR code in its frame, or null.
async function qrReader() {
  const fallback = jsQrReader();
  let detector = await nativeQrDetector();
  return async (video) => {
    if (detector) {
      try {
        const codes = await detector.detect(video);
        if (codes.length) return codes[0].rawValue;
      } catch {
        detector = null; // it cannot read: jsQR from now on
      }
    }
    return fallback(video);
  };
}

async function nativeQrDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = window.BarcodeDetector.getSupportedFormats ? await window.BarcodeDetector.getSupportedFormats() : ["qr_code"];
    return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

// jsQR (250 KB) is fetched only when the scanner opens, not with the app's first screen;
// the service worker keeps it for scanning offline.
let jsQrLoading = null;
function loadJsQr() {
  jsQrLoading ??= new Promise((resolve) => {
    const script = el("script", { src: "/vendor/jsqr/jsQR.js" });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => {
      jsQrLoading = null; // try again on the next frame
      resolve();
    });
    document.head.append(script);
  });
  return jsQrLoading;
}

function jsQrReader() {
  const canvas = document.createElement("canvas");
  loadJsQr();
  return (video) => {
    if (!window.jsQR) {
      loadJsQr();
      return null;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(frame.data, frame.width, frame.height)?.data ?? null;
  };
}

// --- unlocking --------------------------------------------------------------------------

async function unlockScreen(code) {
  const quote = await api("GET", `/api/v1/assets/${encodeURIComponent(code)}/quote`);
  const price = quote.price;
  if (price) reached("price_seen", price.city_id);
  const status = el("div", { class: "notice", id: "unlock-status", role: "status" });
  const actions = el("div", { class: "actions" });
  append(main,
    screenTitle("unlock.title"),
    el(
      "section",
      { class: "card" },
      el("h2", {}, `${t(`kind.${quote.kind}`)} ${quote.code}`),
      price ? el("p", { class: "price", id: "price" }, t("unlock.price", { price: describePrice(price) })) : null,
      depositRule(quote),
    ),
    actions,
    status,
  );
  if (!quote.available) {
    const why = quote.unavailable[0];
    status.replaceChildren(el("span", { role: "alert", class: "error" }, why ? t(`unavailable.${why}`) : t("unlock.unavailable")));
    return;
  }
  if (quote.deposit_due_minor > 0) {
    const choice = await paymentChoice(price.city_id);
    actions.append(
      choice.element ?? "",
      el("button", { class: "primary", id: "pay-deposit", onclick: () => payDeposit(price, status, choice.chosen()) }, t("unlock.pay_deposit")),
    );
    return;
  }
  const button = el("button", { class: "primary big", id: "unlock" }, t("unlock.unlock"));
  // One key per attempt: a double tap, or a retry after a lost answer, is one rental; a new
  // attempt after a failed unlock is a new rental.
  let idempotencyKey = key();
  button.addEventListener("click", async () => {
    sendFunnelSteps();
    button.disabled = true;
    status.textContent = t("unlock.opening");
    status.classList.add("busy");
    try {
      // Answered once the lock has opened (or refused), most often: one call from scan to ride.
      let rental = await api("POST", "/api/v1/rentals?wait=10", { qr: quote.code, idempotency_key: idempotencyKey });
      while (rental.state === "unlocking") {
        rental = await api("GET", `/api/v1/rentals/${rental.id}?wait=10`);
      }
      status.classList.remove("busy");
      if (rental.state === "active") {
        status.textContent = t("unlock.opened");
        go(`trip/${rental.id}`);
      } else {
        status.replaceChildren(notice(new ApiError(409, rental.failure_reason || "other", rental.failure_reason)));
        idempotencyKey = key();
        button.disabled = false;
      }
    } catch (error) {
      status.classList.remove("busy");
      status.replaceChildren(notice(error));
      button.disabled = false;
    }
  });
  actions.append(button);
}

function depositRule(quote) {
  const price = quote.price;
  if (!price || !price.deposit_minor) return el("p", { id: "deposit" }, t("unlock.deposit_none"));
  if (quote.deposit_due_minor <= 0) return el("p", { id: "deposit" }, t("unlock.deposit_none"));
  const amount = money({ amount_minor: quote.deposit_due_minor, currency: price.currency });
  return el(
    "p",
    { id: "deposit", class: "warning" },
    t("unlock.deposit_due", { amount }),
    price.deposit_waiver_score != null ? ` ${t("unlock.deposit_waiver", { score: price.deposit_waiver_score })}` : null,
  );
}

async function payDeposit(price, status, gateway) {
  try {
    const order = await api("POST", "/api/v1/deposits", {
      city_id: price.city_id,
      kind: price.kind,
      idempotency_key: key(),
      ...(gateway ? { gateway } : {}),
    });
    openPayment(order, status);
    await untilPaid(order.id);
    show();
  } catch (error) {
    status.replaceChildren(notice(error));
  }
}

// The ways to pay a city offers (GET /api/v1/cities/<id>/payment-gateways): a choice only
// when there are several; `chosen()` is the one picked (null: the city's default).
async function paymentChoice(cityId) {
  const path = `/api/v1/cities/${encodeURIComponent(cityId)}/payment-gateways`;
  const offer = cityId ? await api("GET", path).catch(() => null) : null;
  if (!offer || offer.gateways.length < 2) return { element: null, chosen: () => null };
  const select = el(
    "select",
    { id: "gateway", name: "gateway" },
    offer.gateways.map((name) => el("option", { value: name, selected: name === offer.default }, label("gateway", name))),
  );
  return { element: el("label", { class: "gateway-choice" }, `${t("wallet.pay_with")} `, select), chosen: () => select.value };
}

// The city a wallet is topped up in: the one the map looked at last, if its money is the
// wallet's, else the first running city of that money (null: none, the platform decides).
let lastCity = null;
async function walletCity(currency) {
  if (lastCity && lastCity.currency === currency) return lastCity.id;
  const listed = await api("GET", "/api/v1/cities").catch(() => ({ cities: [] }));
  const city = listed.cities.find((known) => known.currency === currency);
  return city ? city.id : null;
}

// The gateway's page opens beside the app. A phone may block a window not opened by the
// tap itself (the order is made first): then the rider gets a link to tap.
function openPayment(order, status) {
  status.textContent = t("wallet.paying");
  const opened = window.open(order.pay_url, "_blank");
  if (opened) {
    opened.opener = null; // the gateway's page gets no hold on the app
  } else {
    status.append(" ", el("a", { href: order.pay_url, target: "_blank", rel: "noopener", id: "pay-link" }, t("wallet.pay_link")));
  }
}

async function untilPaid(orderId) {
  for (;;) {
    const order = await api("GET", `/api/v1/payments/${orderId}`);
    if (order.state !== "pending") return order;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// --- the ride ---------------------------------------------------------------------------

async function tripScreen(rentalId) {
  try {
    await api("GET", `/api/v1/rentals/${rentalId}`);
  } catch (error) {
    if (noSuchRide(error)) return;
    throw error;
  }
  const time = el("strong", { id: "trip-time" }, "0:00");
  const distance = el("strong", { id: "trip-distance" }, "0 m");
  const fare = el("strong", { id: "trip-fare" }, "—");
  const box = el("div", { class: "map small", id: "trip-map" });
  append(main,
    screenTitle("trip.title"),
    el(
      "dl",
      { class: "figures" },
      el("div", {}, el("dt", {}, t("trip.time")), el("dd", {}, time)),
      el("div", {}, el("dt", {}, t("trip.distance")), el("dd", {}, distance)),
      el("div", {}, el("dt", {}, t("trip.fare")), el("dd", {}, fare)),
    ),
    box,
    el("p", { class: "notice" }, t("trip.end_hint")),
  );
  const ringing = el("div", { id: "ring-box" });
  append(main, ringing);
  const map = await makeMap(box);
  const path = L.polyline([], { color: "#0072b2", weight: 5 }).addTo(map);
  const zonesOf = zonesDrawer(map);
  let started = null;

  async function refresh() {
    const rental = await api("GET", `/api/v1/rentals/${rentalId}`);
    if (rental.state === "ended") return go(`receipt/${rentalId}`);
    started = rental.started_at ? new Date(rental.started_at) : started;
    if (!ringing.childElementCount) ringing.append(ringButton(rental.asset_id));
    fare.textContent = money(rental.fare_so_far);
    const trace = await api("GET", `/api/v1/rentals/${rentalId}/trace`);
    const points = latLngsOf(trace.geometry);
    path.setLatLngs(points);
    zonesOf(points.length ? points[points.length - 1] : map.getCenter()).catch(() => {});
    if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 17 });
    distance.textContent = `${Math.round(trace.properties.distance_m ?? metres(points))} m`;
  }
  every(1000, () => {
    if (started) time.textContent = elapsed((Date.now() - started) / 1000);
  });
  every(POLL_MS, () => refresh().catch(() => {}));
  await refresh();
}

// A trace is nothing yet, one fix (a Point) or a path (a LineString).
function latLngsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Point") return [[geometry.coordinates[1], geometry.coordinates[0]]];
  return geometry.coordinates.map(([lon, lat]) => [lat, lon]);
}

function metres(points) {
  let total = 0;
  for (let i = 1; i < points.length; i++) total += L.latLng(points[i - 1]).distanceTo(points[i]);
  return total;
}

function elapsed(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  return `${h ? `${h}:` : ""}${mm}:${String(s % 60).padStart(2, "0")}`;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(currentLanguage(), { hour: "2-digit", minute: "2-digit" });
}

async function receiptScreen(rentalId) {
  const status = el("p", { class: "notice busy" }, t("receipt.waiting"));
  append(main, screenTitle("receipt.title"), status);
  let receipt;
  for (;;) {
    try {
      receipt = await api("GET", `/api/v1/rentals/${rentalId}/receipt`);
      break;
    } catch (error) {
      if (noSuchRide(error)) return;
      if (!(error instanceof ApiError && error.code === "receipt_not_ready")) throw error;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  const [rental, trace] = await Promise.all([
    api("GET", `/api/v1/rentals/${rentalId}`),
    api("GET", `/api/v1/rentals/${rentalId}/trace`).catch(() => null),
  ]);
  const amount = (minor) => money({ amount_minor: minor, currency: receipt.currency });
  const parking = rental.parking;
  const printable = printableLink(rentalId, receipt.printable_url);
  const route = el("div", { class: "map small", id: "receipt-map", role: "region", "aria-label": t("receipt.route") });
  status.remove();
  append(main,
    el(
      "section",
      { class: "card receipt", id: "receipt" },
      el("h2", {}, `${t(`kind.${receipt.asset.kind}`)} ${receipt.asset.code}`),
      el("p", {}, `${elapsed(receipt.duration_s || 0)} · ${Math.round(receipt.distance_m || 0)} m`),
      route,
      el("table", {}, receipt.lines.map((line) => el("tr", {}, el("td", {}, describeLine(line, receipt.price)), el("td", { class: "amount" }, amount(line.amount_minor))))),
      el("p", { class: "total", id: "receipt-total" }, `${t("receipt.total")}: ${amount(receipt.total_minor)}`),
      el("p", {}, `${t("receipt.paid")}: ${amount(receipt.paid_from_wallet_minor)}`),
      receipt.owed_minor ? el("p", { class: "warning" }, `${t("receipt.owed")}: ${amount(receipt.owed_minor)}`) : null,
      receipt.refunded_minor ? el("p", {}, `${t("receipt.refunded")}: ${amount(receipt.refunded_minor)}`) : null,
      parking
        ? el(
            "p",
            { id: "parking", class: parking.outcome === "ok" ? "ok" : "warning" },
            t(`parking.${parking.outcome}`, { fee: money(parking.out_of_zone_fee) }),
          )
        : null,
      el("img", { src: receipt.qr, alt: t("receipt.number", { number: receipt.number }), class: "qr", id: "receipt-qr" }),
      el("p", { class: "muted" }, t("receipt.number", { number: receipt.number })),
      printable,
    ),
    disputeBox(rentalId, receipt.disputes),
  );
  await drawRoute(route, trace ? latLngsOf(trace.geometry) : []);
}

// The trip's route (its stored, simplified trace), where it started and ended, over the
// city's zones: with no tile server the zones are the map's context.
async function drawRoute(box, points) {
  const map = await makeMap(box);
  box.dataset.points = String(points.length);
  const zonesOf = zonesDrawer(map);
  if (!points.length) {
    box.append(el("p", { class: "map-note" }, t("receipt.no_route")));
    await zonesOf(map.getCenter()).catch(() => {});
    return;
  }
  drawTrip(map, points);
  await zonesOf(points[points.length - 1]).catch(() => {});
}

// The printable page opens in a tab of its own, which has no bearer token: its link is
// signed for this rider and short-lived, so the screen fetches a fresh one now and then.
// It speaks the app's language (`lang`).
function printableLink(rentalId, url) {
  const inAppLanguage = (signed) => {
    const address = new URL(signed, location.href);
    address.searchParams.set("lang", currentLanguage());
    return address.href;
  };
  const link = el("a", { href: inAppLanguage(url), target: "_blank", rel: "noopener", id: "printable" }, t("receipt.printable"));
  every(PRINTABLE_REFRESH_MS, async () => {
    const fresh = await api("GET", `/api/v1/rentals/${rentalId}/receipt`).catch(() => null);
    if (fresh) link.href = inAppLanguage(fresh.printable_url);
  });
  return link;
}

function disputeBox(rentalId, disputes) {
  if (disputes.length) {
    const last = disputes[disputes.length - 1];
    return el("p", { class: "notice", id: "dispute-state" }, label("dispute.state", last.state), last.note ? ` · ${last.note}` : null);
  }
  const message = el("div", { role: "status", id: "dispute-status" });
  const reason = el("textarea", { name: "reason", rows: 2, maxlength: 500, required: true });
  const form = el(
    "form",
    { class: "card stack", id: "dispute" },
    el("h2", {}, t("dispute.open")),
    el("label", {}, t("dispute.reason"), reason),
    el("button", { type: "submit" }, t("dispute.submit")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/api/v1/rentals/${rentalId}/disputes`, { reason: reason.value });
      form.replaceChildren(el("div", { class: "ok", id: "dispute-status" }, t("dispute.sent")));
    } catch (error) {
      message.replaceChildren(notice(error));
    }
  });
  return form;
}

async function tripsScreen() {
  const { rentals } = await api("GET", "/api/v1/rentals?limit=50");
  append(main, screenTitle("trips.title"));
  if (!rentals.length) return append(main, el("p", { class: "notice" }, t("trips.none")));
  append(main,
    el(
      "ul",
      { class: "list", id: "trips" },
      rentals.map((rental) =>
        el(
          "li",
          {},
          el(
            "a",
            { href: rental.state === "active" ? `#/trip/${rental.id}` : rental.state === "ended" ? `#/receipt/${rental.id}` : "#/trips" },
            // On the clock of the ride's city, wherever the phone is set.
            el("span", {}, new Date(rental.requested_at).toLocaleString(currentLanguage(), { timeZone: rental.time_zone || undefined, timeZoneName: "short" })),
            el("span", { class: "amount" }, rental.state === "ended" ? money(rental.fare) : t(`rental.state.${rental.state}`)),
          ),
        ),
      ),
    ),
  );
}

// --- money --------------------------------------------------------------------------

const TOP_UPS = [1000, 2000, 5000];

async function walletScreen() {
  const [{ wallets }, { postings }, { refunds }] = await Promise.all([
    api("GET", "/api/v1/wallet"),
    api("GET", "/api/v1/wallet/transactions?limit=20"),
    api("GET", "/api/v1/deposits/refunds"),
  ]);
  const wallet = wallets[0] || { currency: "CNY", balance_minor: 0, deposit_minor: 0, debt_minor: 0 };
  const amount = (minor) => money({ amount_minor: minor, currency: wallet.currency });
  const status = el("div", { class: "notice", id: "wallet-status", role: "status" });
  const cityId = await walletCity(wallet.currency);
  const choice = await paymentChoice(cityId);
  let card = balanceCard(wallet);
  // A refund settled: the card shows what is left of the deposit without a reload.
  const settled = async () => {
    const { wallets: now } = await api("GET", "/api/v1/wallet");
    const fresh = balanceCard(now.find((found) => found.currency === wallet.currency) || { ...wallet, deposit_minor: 0 });
    card.replaceWith(fresh);
    card = fresh;
  };
  append(main,
    screenTitle("wallet.title"),
    card,
    depositBox(wallet, refunds, settled),
    el(
      "section",
      { class: "actions" },
      choice.element,
      TOP_UPS.map((minor) =>
        el(
          "button",
          { class: "primary", onclick: () => topUp(minor, wallet.currency, status, { city_id: cityId, gateway: choice.chosen() }) },
          `${t("wallet.top_up")} ${amount(minor)}`,
        ),
      ),
    ),
    status,
    el("h2", {}, t("wallet.history")),
    el(
      "ul",
      { class: "list" },
      postings.map((posting) =>
        el(
          "li",
          {},
          el("span", {}, `${new Date(posting.created_at).toLocaleDateString(currentLanguage())} ${label("txn", posting.transaction_kind)}`),
          el("span", { class: "amount" }, money({ amount_minor: posting.amount_minor, currency: posting.currency })),
        ),
      ),
    ),
  );
}

function balanceCard(wallet) {
  const amount = (minor) => money({ amount_minor: minor, currency: wallet.currency });
  return el(
    "section",
    { class: "card", id: "balance-card" },
    el("p", { class: "balance" }, t("wallet.balance"), el("strong", { id: "balance" }, amount(wallet.balance_minor))),
    wallet.deposit_minor ? el("p", { id: "wallet-deposit" }, `${t("wallet.deposit")}: ${amount(wallet.deposit_minor)}`) : null,
    wallet.debt_minor ? el("p", { class: "warning" }, `${t("wallet.debt")}: ${amount(wallet.debt_minor)}`) : null,
  );
}

// The deposit given back through the gateways that took it: asked for here, then each part
// in its gateway's state (a part refused is back in the deposit) until all have answered,
// when `settled()` is told.
function depositBox(wallet, refunds, settled) {
  if (!wallet.deposit_minor && !refunds.length) return null;
  const amount = (minor) => money({ amount_minor: minor, currency: wallet.currency });
  const status = el("div", { role: "status", id: "deposit-status" });
  const list = el("ul", { class: "list", id: "deposit-refunds" });
  const showRefunds = (shown) =>
    list.replaceChildren(
      ...shown.map((refund) =>
        el("li", { class: `refund-${refund.state}` }, el("span", {}, t("deposit.refund")), el("span", { class: "amount" }, `${amount(refund.amount_minor)} · ${label("refund.state", refund.state)}`)),
      ),
    );
  async function follow() {
    for (;;) {
      const { refunds: now } = await api("GET", "/api/v1/deposits/refunds");
      showRefunds(now);
      if (!now.some((refund) => refund.state === "processing")) {
        await settled().catch(() => {});
        return now;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  const button = wallet.deposit_minor
    ? el("button", { id: "refund-deposit" }, t("deposit.get_back", { amount: amount(wallet.deposit_minor) }))
    : null;
  button?.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "";
    try {
      await api("POST", "/api/v1/deposits/refunds", { currency: wallet.currency, idempotency_key: key() });
      button.remove();
      status.className = "notice";
      status.textContent = t("deposit.asked");
      const settled = await follow();
      status.textContent = settled.some((refund) => refund.state === "failed") ? t("deposit.some_failed") : t("deposit.back");
    } catch (error) {
      button.disabled = false;
      status.replaceChildren(notice(error));
    }
  });
  showRefunds(refunds);
  if (refunds.some((refund) => refund.state === "processing")) follow().catch(() => {});
  return el("section", { class: "card stack", id: "deposit-box" }, el("h2", {}, t("deposit.title")), button, status, refunds.length || button ? list : null);
}


// `where`: the city the rider tops up in and the gateway picked (null: the city's default).
async function topUp(minor, currency, status, where) {
  const choice = Object.fromEntries(Object.entries(where).filter(([, value]) => value));
  try {
    const order = await api("POST", "/api/v1/wallet/top-ups", { amount_minor: minor, currency, idempotency_key: key(), ...choice });
    openPayment(order, status);
    const paid = await untilPaid(order.id);
    if (paid.state === "paid") {
      await show();
      document.getElementById("wallet-status").textContent = t("wallet.paid");
    } else if (paid.state === "expired") {
      status.textContent = t("wallet.expired");
    }
  } catch (error) {
    status.replaceChildren(notice(error));
  }
}

// --- holds, reports, credit -------------------------------------------------------------

async function holdScreen() {
  append(main, screenTitle("reservation.title"));
  let hold;
  try {
    hold = await api("GET", "/api/v1/reservations/current");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return append(main, notice(error));
    throw error;
  }
  const vehicle = hold.vehicle;
  const box = vehicle?.position ? el("div", { class: "map small", id: "hold-map" }) : null;
  append(main,
    el(
      "section",
      { class: "card", id: "hold" },
      vehicle ? el("h2", { id: "hold-vehicle" }, heldName(hold)) : null,
      vehicle ? el("p", { class: "muted" }, t("reservation.find", { code: vehicle.code })) : null,
      box,
      el("p", {}, t("reservation.until", { time: clock(hold.expires_at) })),
      el("p", { class: "muted" }, t("reservation.cost", { price: money(hold.price_per_minute) })),
      ringButton(hold.asset_id),
      el(
        "button",
        {
          id: "hold-cancel",
          type: "button",
          onclick: async () => {
            await api("POST", `/api/v1/reservations/${hold.id}/cancel`);
            go("map");
          },
        },
        t("reservation.cancel"),
      ),
    ),
  );
  if (box) {
    const map = await makeMap(box);
    map.setView([vehicle.position.lat, vehicle.position.lon], 17, { animate: false });
    heldMarker(hold).addTo(map);
    zonesDrawer(map)([vehicle.position.lat, vehicle.position.lon]).catch(() => {});
  }
}

// The bell of the bike the rider holds or rides, to find it among others parked alike. The
// platform limits how often (a few times a minute): the button rests a few seconds after.
const RING_REST_MS = 5000;

function ringButton(assetId) {
  const status = el("span", { role: "status", id: "ring-status" });
  const button = el("button", { id: "ring", type: "button" }, t("ring.button"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", `/api/v1/vehicles/${assetId}/ring`);
      status.className = "ok";
      status.textContent = t("ring.sent");
    } catch (error) {
      status.replaceChildren(notice(error));
    }
    setTimeout(() => (button.disabled = false), RING_REST_MS);
  });
  return el("div", { class: "actions ring" }, button, status);
}

const CATEGORIES = ["brakes", "tyre", "chain", "seat", "lights", "lock", "qr_code", "battery", "other"];
// A phone's camera takes 12 MP and more (4-8 MB as JPEG): the app sends a copy of at most
// PHOTO_SIDE pixels on its longer side, well under the platform's limit (2 MB by default),
// which the platform scales down further and strips of its metadata.
const PHOTO_SIDE = 1600;
const PHOTO_BYTES = 1_500_000;
const PHOTO_QUALITY = 0.85;

async function reportScreen(code = "") {
  const message = el("div", { role: "status", id: "report-status" });
  const photo = photoPicker(message);
  const form = el(
    "form",
    { class: "card stack", id: "report" },
    el("label", {}, t("report.code"), el("input", { name: "code", value: code, required: true, autocapitalize: "characters" })),
    el(
      "label",
      {},
      t("report.category"),
      el("select", { name: "category" }, CATEGORIES.map((name) => el("option", { value: name }, t(`category.${name}`)))),
    ),
    el("label", {}, t("report.note"), el("textarea", { name: "note", maxlength: 500, rows: 3 })),
    photo.element,
    el("button", { type: "submit", class: "primary" }, t("report.submit")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { code: typed, category, note } = Object.fromEntries(new FormData(form));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const photoRef = await photo.uploaded();
      const body = { code: codeFrom(typed), category, note: note || undefined, photo_ref: photoRef || undefined };
      await api("POST", "/api/v1/damage-reports", body);
      message.className = "ok";
      message.textContent = t("report.sent");
    } catch (error) {
      message.className = "";
      message.replaceChildren(notice(error));
    } finally {
      button.disabled = false;
    }
  });
  append(main, screenTitle("report.title"), form);
}

// The report's photo: taken with the camera (or picked), scaled down in the page, shown, and
// uploaded once when the report is sent. `uploaded()` answers its photo_ref (null without a
// photo); a report sent again after a refusal reuses the upload.
function photoPicker(message) {
  let photo = null; // { blob, url, ref }
  const input = el("input", { type: "file", name: "photo", id: "report-photo", accept: "image/*", capture: "environment" });
  const preview = el("img", { id: "report-photo-preview", alt: t("report.photo_preview"), hidden: true });
  const remove = el("button", { type: "button", id: "report-photo-remove", class: "link", hidden: true }, t("report.photo_remove"));
  const clear = () => {
    if (photo) URL.revokeObjectURL(photo.url);
    photo = null;
    preview.hidden = remove.hidden = true;
    preview.removeAttribute("src");
  };
  input.addEventListener("change", async () => {
    clear();
    const file = input.files[0];
    if (!file) return;
    try {
      const blob = await scaledPhoto(file);
      photo = { blob, url: URL.createObjectURL(blob), ref: null };
      preview.src = photo.url;
      preview.hidden = remove.hidden = false;
      message.replaceChildren();
    } catch (error) {
      input.value = "";
      message.className = "";
      message.replaceChildren(el("p", { class: "notice error", role: "alert" }, t("report.photo_unreadable")));
    }
  });
  remove.addEventListener("click", () => {
    clear();
    input.value = "";
    input.focus();
  });
  const previous = leaving;
  leaving = () => {
    clear();
    previous();
  };
  const element = el(
    "div",
    { class: "photo stack" },
    el("label", {}, t("report.photo"), input),
    el("p", { class: "muted" }, t("report.photo_hint")),
    preview,
    remove,
  );
  return {
    element,
    async uploaded() {
      if (!photo) return null;
      if (!photo.ref) {
        message.className = "";
        message.textContent = t("report.photo_sending");
        photo.ref = (await api("POST", "/api/v1/damage-photos", photo.blob)).photo_ref;
      }
      return photo.ref;
    },
  };
}

// A JPEG of `file` at most PHOTO_SIDE pixels on its longer side (upright as the camera held
// it) and at most PHOTO_BYTES; throws when the file is no picture the browser can read.
async function scaledPhoto(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  try {
    let side = PHOTO_SIDE;
    for (;;) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", PHOTO_QUALITY));
      if (!blob) throw new Error("the picture could not be encoded");
      if (blob.size <= PHOTO_BYTES || side < 200) return blob;
      side = Math.round(side * 0.75);
    }
  } finally {
    bitmap.close();
  }
}

async function meScreen() {
  const [me, credit] = await Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/me/credit")]);
  const picker = el(
    "select",
    { id: "language" },
    Object.entries(languages).map(([code, name]) => el("option", { value: code, selected: code === currentLanguage() }, name)),
  );
  picker.addEventListener("change", async () => {
    chooseLanguage(picker.value);
    await loadMessages();
    show();
  });
  append(main,
    screenTitle("me.title"),
    el(
      "section",
      { class: "card", id: "credit" },
      el("h2", {}, t("me.credit")),
      el("p", { class: "score" }, el("strong", { id: "score" }, credit.score), ` ${t("me.credit_range", credit.range)}`),
      credit.history.length
        ? el(
            "ul",
            { class: "list" },
            credit.history.map((event) =>
              el(
                "li",
                {},
                el("span", {}, t(`credit.${event.reason}`)),
                el("span", { class: event.delta < 0 ? "amount warning" : "amount ok" }, `${event.delta > 0 ? "+" : ""}${event.delta}`),
              ),
            ),
          )
        : el("p", { class: "muted" }, t("me.credit_none")),
    ),
    el("p", {}, el("a", { href: "#/report" }, t("me.report"))),
    el("p", {}, el("a", { href: "#/help", id: "help-link" }, t("help.link"))),
    el("label", { class: "inline" }, t("me.language"), picker),
    passwordForm(me.has_password),
    el(
      "p",
      {},
      el(
        "button",
        {
          id: "sign-out",
          onclick: async () => {
            await signOut();
            go("code");
          },
        },
        t("me.sign_out"),
      ),
    ),
  );
}

// A new password ends the rider's sessions on every other device; this one stays. A rider
// made by a code has none yet: the first one needs no current password.
function passwordForm(hasPassword) {
  const message = el("p", { role: "status", id: "password-message" });
  const field = (name, key, autocomplete) =>
    el("label", {}, t(key), el("input", { name, type: "password", autocomplete, required: true }));
  const form = el(
    "form",
    { class: "card stack", id: "password" },
    el("h2", {}, t(hasPassword ? "me.password" : "me.password_first")),
    hasPassword ? field("current_password", "me.password_current", "current-password") : el("p", { class: "muted" }, t("me.password_first_why")),
    field("new_password", "me.password_new", "new-password"),
    el("button", { type: "submit" }, t(hasPassword ? "me.password_submit" : "me.password_first_submit")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/v1/me/password", Object.fromEntries(new FormData(form)));
      form.reset();
      const shown = hasPassword ? form : passwordForm(true);
      form.replaceWith(shown);
      const notice = shown.querySelector("#password-message");
      notice.className = "notice ok";
      notice.textContent = t("me.password_changed");
    } catch (error) {
      message.className = "notice error";
      message.textContent = explain(error);
    }
  });
  return form;
}

// --- how it works -----------------------------------------------------------------------

// Prices, parking, deposits and credit, from the city's own plans (GET /cities/<id>/prices)
// and zones: the numbers here are the ones riders are charged, in every language.
async function helpScreen() {
  const { center } = await webSettings();
  const city = await cityNear([center.lat, center.lon]);
  append(main, screenTitle("help.title"));
  if (!city) return append(main, el("p", { class: "notice" }, t("help.no_city")));
  const [{ plans }, credit] = await Promise.all([
    api("GET", `/api/v1/cities/${encodeURIComponent(city.id)}/prices`),
    api("GET", "/api/v1/me/credit"),
  ]);
  const box = el("div", { class: "map small", id: "help-map" });
  append(main,
    el(
      "section",
      { class: "card", id: "help-pricing" },
      el("h2", {}, t("help.pricing", { city: city.name })),
      el("p", {}, t("help.pricing_intro")),
      el("ul", { class: "list", id: "help-prices" }, plans.map(planFacts)),
    ),
    el(
      "section",
      { class: "card", id: "help-parking" },
      el("h2", {}, t("help.parking")),
      ["area", "red", "green", "doubt"].map((part) => el("p", {}, t(`help.parking_${part}`))),
      box,
    ),
    el("section", { class: "card", id: "help-deposits" }, el("h2", {}, t("help.deposits")), el("p", {}, t("help.deposits_text"))),
    el(
      "section",
      { class: "card", id: "help-credit" },
      el("h2", {}, t("help.credit")),
      el("p", {}, t("help.credit_text", { score: credit.score, ...credit.range })),
    ),
  );
  const map = await makeMap(box);
  map.setView([city.center.lat, city.center.lon], 13, { animate: false });
  const zones = await drawZones(map, city.id);
  if (zones && zones.getBounds().isValid()) map.fitBounds(zones.getBounds(), { animate: false });
}

// One kind's price as the rider pays it: riding, holding, parking badly, the deposit.
function planFacts(plan) {
  const amount = (minor) => money({ amount_minor: minor, currency: plan.currency });
  const deposit = !plan.deposit_minor
    ? t("help.no_deposit")
    : plan.deposit_waiver_score == null
      ? t("help.deposit", { amount: amount(plan.deposit_minor) })
      : t("help.deposit_waived", { amount: amount(plan.deposit_minor), score: plan.deposit_waiver_score });
  return el(
    "li",
    { class: "stack", "data-kind": plan.kind },
    el("strong", {}, t(`kind.${plan.kind}`)),
    el("span", { class: "help-rate" }, describePrice(plan)),
    el("span", { class: "help-hold" }, t("help.hold", { amount: amount(plan.reservation_per_minute_minor) })),
    el("span", { class: "help-fee" }, t("help.out_of_zone", { amount: amount(plan.out_of_zone_fee_minor) })),
    el("span", { class: "help-deposit" }, deposit),
  );
}

// --- start ------------------------------------------------------------------------------

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/", updateViaCache: "none" }).catch(() => {});
await loadMessages();
document.title = t("app.title");
window.addEventListener("hashchange", show);
if (!(await resume())) show();
