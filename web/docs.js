// /api/docs: Swagger UI (swagger-ui-dist, pinned in web/package.json) over this server's own
// OpenAPI document. "Try it out" calls this same server; Authorize takes an access token from
// POST /api/v1/auth/login, kept in this page's memory only.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  displayOperationId: true,
  filter: true,
  tryItOutEnabled: false,
});
