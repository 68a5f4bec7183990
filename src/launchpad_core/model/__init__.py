"""The definition and its values: templates, variables and their types, answers (and
resolving them), the cattrs converter, the JSON Schema, validation and strict JSON input."""
