// The platform's public JSON API as the web pages use it. A sign-in gives a short-lived
// access token and a refresh token; both live for the browser tab (sessionStorage: closing
// the tab forgets them) unless a page keeps them longer (the rider app: riders stay signed
// in on their own phone while they keep using it). An access token that expired is renewed
// with the refresh token once, and the request sent again, without the page noticing.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const TOKEN = "rental.token";
const REFRESH = "rental.refresh";
const ROLE = "rental.role";
let store = sessionStorage;

export function keepSignedIn() {
  store = localStorage;
}

export const session = {
  token: () => store.getItem(TOKEN),
  role: () => store.getItem(ROLE),
  refreshToken: () => store.getItem(REFRESH),
  keep(tokens) {
    store.setItem(TOKEN, tokens.access_token);
    store.setItem(REFRESH, tokens.refresh_token);
    store.setItem(ROLE, tokens.role);
  },
  // Only this browser forgets; `signOut()` also ends the session on the platform.
  forget() {
    for (const name of [TOKEN, REFRESH, ROLE]) store.removeItem(name);
  },
};

// Headers a page sends with every request of its own (the rider app's visit, for the
// rider funnel): none unless it asks.
const alwaysSent = {};

export function alsoSend(name, value) {
  alwaysSent[name] = value;
}

// `body`: sent as JSON, or as itself for a Blob (a photo), with the Blob's own type.
async function request(method, path, body, token = session.token()) {
  const headers = { ...alwaysSent, Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const raw = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = raw ? body.type : "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "network", "The platform cannot be reached. Check the connection.");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

export async function api(method, path, body) {
  try {
    return await request(method, path, body);
  } catch (error) {
    if (error.code !== "token_expired" || !(await refreshed())) throw error;
    return request(method, path, body);
  }
}

// GET `path` for a page that polls: null while it is unchanged since the answer whose
// ETag was `tag` (the platform answers 304 Not Modified, with no body), else
// { data, tag } with the new answer and its tag, for the next call.
export async function poll(path, tag) {
  const attempt = async () => {
    const headers = { Accept: "application/json", Authorization: `Bearer ${session.token()}` };
    if (tag) headers["If-None-Match"] = tag;
    let response;
    try {
      response = await fetch(path, { headers });
    } catch (error) {
      throw new ApiError(0, "network", "The platform cannot be reached. Check the connection.");
    }
    if (response.status === 304) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
    }
    return { data, tag: response.headers.get("ETag") };
  };
  try {
    return await attempt();
  } catch (error) {
    if (error.code !== "token_expired" || !(await refreshed())) throw error;
    return attempt();
  }
}

// A file from the API saved by the browser (a CSV export, say): a plain link cannot carry
// the bearer token, so the file is fetched with it and handed over as a blob.
export async function download(path, filename) {
  const fetchFile = () => fetch(path, { headers: { Authorization: `Bearer ${session.token()}` } });
  let response = await fetchFile();
  if (response.status === 401 && (await refreshed())) response = await fetchFile();
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// A file from the API to show in the page (a damage photo), as a Blob: an <img src> cannot
// carry the bearer token either. The caller makes it a blob: URL and revokes it when done.
export async function fetchBlob(path) {
  const fetchFile = () => fetch(path, { headers: { Authorization: `Bearer ${session.token()}` } });
  let response;
  try {
    response = await fetchFile();
    if (response.status === 401 && (await refreshed())) response = await fetchFile();
  } catch (error) {
    throw new ApiError(0, "network", "The platform cannot be reached. Check the connection.");
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return response.blob();
}

// One refresh at a time in this page: requests that found the token expired together wait
// for the same one.
let refreshing = null;

function refreshed() {
  refreshing ??= refreshTokens().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// Whether there are fresh tokens now. A refresh token works once: presented again, the
// platform takes it for a stolen copy and ends the session. Tabs of the rider app share
// their tokens (localStorage), so they refresh one at a time (Web Locks, where the browser
// has them), and a tab that waited uses what the other one got.
async function refreshTokens() {
  const spent = session.refreshToken();
  if (!spent) return false;
  const exchange = async () => {
    if (session.refreshToken() !== spent) return Boolean(session.token());
    try {
      session.keep(await request("POST", "/api/v1/auth/refresh", { refresh_token: spent }, null));
      return true;
    } catch (error) {
      if (error.status !== 401) throw error; // the network, say: still signed in
      session.forget();
      return false;
    }
  };
  return navigator.locks ? navigator.locks.request("rental.refresh", exchange) : exchange();
}

export async function signIn(phone, password) {
  const answer = await request("POST", "/api/v1/auth/token", { phone, password }, null);
  session.keep(answer);
  return answer;
}

// Signs in with the code texted to the phone (POST /api/v1/auth/sms-codes sent it); an
// account made by the old password sign-up sends its password once with the code.
export async function signInWithCode(phone, code, password) {
  const answer = await request("POST", "/api/v1/auth/sms-token", { phone, code, password: password || undefined }, null);
  session.keep(answer);
  return answer;
}

// Signs a rider up with the code texted to the phone: {phone, code, name, password?}.
export async function signUpWithCode(body) {
  const answer = await request("POST", "/api/v1/riders", body, null);
  session.keep(answer);
  return answer;
}

// Ends the session on the platform too (its tokens stop working everywhere at once).
// Forgetting the tokens here does not wait for the platform, and cannot fail.
export async function signOut() {
  const token = session.token();
  session.forget();
  if (token) await request("POST", "/api/v1/auth/logout", undefined, token).catch(() => {});
}

// Text for the page: never HTML, so names from the data cannot inject markup.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  return append(node, ...children);
}

// Children added to a node as el() adds them: nested lists flattened, text as text, and
// nothing for null, undefined or false (a part a screen leaves out), never "null".
export function append(node, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}
