// The rider funnel's steps this app reports (map opened, vehicle viewed, price seen), for
// this opening of the app: a random visit id made here, never the rider's, and no
// position. Steps wait a moment to go together (POST /api/v1/app-events), by fetch with
// keepalive, or sendBeacon as the page goes away; they never hold the rider up, and a
// failure is let go. The same id goes with the app's scan and nearby searches (the
// X-App-Visit header), so that the platform's steps join the visit.
import { alsoSend } from "../common/api.js";

const BATCH_MS = 1000;
const MAX_BATCH = 20; // as the platform takes at once
const PATH = "/api/v1/app-events";

// A version 4 UUID from the browser's random numbers (randomUUID wants a secure context).
function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const visitId = randomId();
const reported = new Set(); // each step once per city and visit: a repeat says nothing new
let waiting = [];
let timer = null;

alsoSend("X-App-Visit", visitId);

// The rider reached `step` in the city `cityId` (no city: not reported).
export function reached(step, cityId) {
  const key = `${step} ${cityId}`;
  if (!cityId || reported.has(key)) return;
  reported.add(key);
  waiting.push({ step, city_id: cityId });
  timer ??= setTimeout(() => send(false), BATCH_MS);
}

// Send what waits now: before the scan, so that the app's steps arrive ahead of it.
export function flush() {
  send(false);
}

function send(leaving) {
  clearTimeout(timer);
  timer = null;
  while (waiting.length) {
    const body = JSON.stringify({ visit_id: visitId, events: waiting.splice(0, MAX_BATCH) });
    const beaconed = leaving && navigator.sendBeacon?.(PATH, new Blob([body], { type: "application/json" }));
    if (!beaconed) {
      fetch(PATH, { method: "POST", headers: { "Content-Type": "application/json" }, body, keepalive: true }).catch(() => {});
    }
  }
}

addEventListener("pagehide", () => send(true));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") send(true);
});
