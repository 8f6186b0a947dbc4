// Builds the canvas island into ../static/dist/ with fixed names (Django's manifest storage adds the hashes),
// so templates/graphs/graph_canvas.html can load it with {% static "dist/canvas.js" %}.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  base: "/static/dist/",
  build: {
    outDir: "../static/dist",
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: "src/main.tsx",
      output: {
        entryFileNames: "canvas.js",
        chunkFileNames: "canvas-[name].js",
        assetFileNames: "canvas[extname]",
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
