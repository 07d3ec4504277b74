// Amounts in minor units as people read them, with each currency's own number of minor
// digits (JPY 0, CNY 2, KWD 3), which the browser's Intl data knows.

export function minorDigits(currency) {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

// 150, "CNY" -> "1.50"; 130, "JPY" -> "130"; 1500, "KWD" -> "1.500".
export function majorAmount(minor, currency) {
  const digits = minorDigits(currency);
  return (minor / 10 ** digits).toFixed(digits);
}
