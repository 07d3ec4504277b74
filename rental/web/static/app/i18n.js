// Words from message files (messages/<language>.json): English and Simplified Chinese. The
// language is the rider's choice, else the browser's, else English. The operator console
// speaks through this module too, from its own message files (useMessagesFrom), and shares
// the chosen language with the app.
const LANGUAGES = { en: "English", "zh-CN": "简体中文" };
const CHOSEN = "rental.language";
let messages = {};
let fallback = {};
let folder = "/web/app/messages";

export const languages = LANGUAGES;

export function currentLanguage() {
  const chosen = localStorage.getItem(CHOSEN);
  if (chosen && chosen in LANGUAGES) return chosen;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

// The folder of another page's message files ("/web/ops/messages"), before loadMessages.
export function useMessagesFrom(path) {
  folder = path;
}

export async function loadMessages(language = currentLanguage()) {
  const load = (name) => fetch(`${folder}/${name}.json`).then((answer) => answer.json());
  [messages, fallback] = await Promise.all([load(language), load("en")]);
  document.documentElement.lang = language;
}

export function chooseLanguage(language) {
  localStorage.setItem(CHOSEN, language);
}

// t("vehicle.battery", {pct: 80}) -> "Battery 80%"
export function t(key, values = {}) {
  const text = messages[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

// The words for a value from the service (a transaction's kind, say), or the value itself.
export function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return key in messages || key in fallback ? t(key) : value;
}

// What a rider can do about an error, in their words; the service's own text otherwise.
export function explain(error) {
  const key = `error.${error.code}`;
  // Every message may name the service's own words ({message}), "error.other" among them.
  const values = { message: error.message };
  return key in messages || key in fallback ? t(key, values) : t("error.other", values);
}

// {amount_minor, currency} as the rider reads money: "¥2.50", "CN¥2.50".
export function money(amount) {
  if (!amount) return "—";
  const format = new Intl.NumberFormat(currentLanguage(), { style: "currency", currency: amount.currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(amount.amount_minor / 10 ** digits);
}

function duration(seconds) {
  return seconds % 3600 === 0 ? t("price.hours", { n: seconds / 3600 }) : t("price.minutes", { n: Math.round(seconds / 60) });
}

// A receipt line in the rider's words, from its kind; the service's label otherwise.
export function describeLine(line, price) {
  const values = { n: line.count, duration: duration(price.interval_seconds), free: duration(price.free_seconds) };
  const key = line.kind === "riding" && price.free_seconds ? "line.riding_after_free" : `line.${line.kind}`;
  return key in messages || key in fallback ? t(key, values) : line.label;
}

// A tariff as the rider reads it before unlocking: "CN¥1.50 per 30 min, first 5 min free".
export function describePrice(price) {
  const amount = (minor) => money({ amount_minor: minor, currency: price.currency });
  const parts = [];
  if (price.unlock_fee_minor) parts.push(t("price.unlock", { amount: amount(price.unlock_fee_minor) }));
  parts.push(t("price.rate", { amount: amount(price.rate_per_interval_minor), duration: duration(price.interval_seconds) }));
  if (price.free_seconds) parts.push(t("price.free", { duration: duration(price.free_seconds) }));
  if (price.daily_cap_minor != null) parts.push(t("price.cap", { amount: amount(price.daily_cap_minor) }));
  return parts.join(t("price.separator"));
}
