// The API's OpenAPI document (/api/v1/openapi.json) shown by Swagger UI, served from the
// platform like every script of its pages (no inline script: the pages' CSP forbids it).
// No validator badge: it would send the document to a third party.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#docs",
  validatorUrl: null,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
});
