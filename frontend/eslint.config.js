// ESLint for the canvas island (`npm run lint`, part of `make lint`): typescript-eslint's recommended rules,
// and eslint-plugin-react-hooks' recommended preset, which adds the React Compiler's checks (no refs read or
// written while rendering, no synchronous setState in an effect, …) to the rules of hooks. Missing effect
// dependencies are errors, not warnings: a stale value in an effect is a bug.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig({
  files: ["src/**/*.{ts,tsx}"],
  extends: [js.configs.recommended, tseslint.configs.recommended, reactHooks.configs.flat.recommended],
  languageOptions: { globals: globals.browser },
  rules: {
    "react-hooks/rules-of-hooks": "error",
    "react-hooks/exhaustive-deps": "error",
  },
});
