// Swagger UI over this service's OpenAPI document (vendored: static/vendor/).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) { return; }
  window.SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: false,
    defaultModelsExpandDepth: -1 });  // schemas are shown with each operation
}());
