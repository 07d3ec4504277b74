// The platform's public JSON API as the web pages use it. The bearer token lives for the
// browser tab (sessionStorage: closing the tab signs out) unless a page keeps it longer
// (the rider app: riders stay signed in on their own phone until the token expires).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const TOKEN = "rental.token";
const ROLE = "rental.role";
let store = sessionStorage;

export function keepSignedIn() {
  store = localStorage;
}

export const session = {
  token: () => store.getItem(TOKEN),
  role: () => store.getItem(ROLE),
  signOut() {
    store.removeItem(TOKEN);
    store.removeItem(ROLE);
  },
};

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
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

export async function signIn(phone, password) {
  const answer = await api("POST", "/api/v1/auth/token", { phone, password });
  store.setItem(TOKEN, answer.access_token);
  store.setItem(ROLE, answer.role);
  return answer;
}

// Text for the page: never HTML, so names from the data cannot inject markup.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}
