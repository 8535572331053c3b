// The REST API, as the builder uses it: the server's validation is the one validation.

export class ApiError extends Error {
  constructor(status, body) {
    const errors = ApiError.errorsOf(body);
    super(errors.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join("; ")
      || `the server answered ${status}`);
    this.status = status;
    this.errors = errors;
    this.body = body;
  }

  /** The server refused a write based on a draft revision someone has saved or activated since. */
  get stale() {
    return this.status === 412 && this.errors[0]?.field === "revision";
  }

  static errorsOf(body) {
    if (body && Array.isArray(body.errors)) return body.errors;
    if (body && typeof body.detail === "string") return [{ field: "", message: body.detail }];
    if (body && typeof body === "object") {
      return Object.entries(body).flatMap(([field, messages]) =>
        [].concat(messages).map((message) => ({ field, message: String(message) })));
    }
    return [];
  }
}

function ifMatch(revision) {
  return revision === null || revision === undefined ? {} : { "If-Match": `"${revision}"` };
}

export class Api {
  constructor(root, csrfToken) {
    this.root = root.endsWith("/") ? root : `${root}/`;
    this.csrfToken = csrfToken;
  }

  url(path) {
    return path.startsWith("/") || path.startsWith("http") ? path : `${this.root}${path}`;
  }

  async request(method, path, body, extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = this.csrfToken;
    const response = await fetch(this.url(path), {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { errors: [{ field: "", message: `the server answered ${response.status} with something that is not JSON` }] };
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  get(path) { return this.request("GET", path); }
  /** ``revision`` (here and in put): the draft revision the write is based on; a newer one on the
   *  server makes it a 412. */
  post(path, body = {}, revision = null) { return this.request("POST", path, body, ifMatch(revision)); }
  put(path, body, revision = null) { return this.request("PUT", path, body, ifMatch(revision)); }

  /** Every item of a paginated list, following ``next`` links. */
  async listAll(path) {
    const items = [];
    let next = path;
    for (let pages = 0; next && pages < 100; pages += 1) {
      const page = await this.get(next);
      items.push(...(page.results || []));
      next = page.next;
    }
    return items;
  }
}
