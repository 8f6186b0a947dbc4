// Builds the canvas island into ../static/dist/: every file named by a hash of its content (so the chunks
// import each other by final names and WhiteNoise can cache them forever), plus .vite/manifest.json, through
// which templates find the entry ({% canvas_assets %} in graphs/templatetags/canvas.py). Django's manifest
// storage leaves these names alone (torchcanvas_site/staticfiles.py).
// Source maps are "hidden" (no sourceMappingURL comment) and moved out of the served tree into
// frontend/build/sourcemaps/, for decoding stack traces and for the canvas benchmark's profile.
// The libraries go into chunks of their own (VENDOR below): no chunk the canvas loads at open is large, and a
// release that changes only the app's code leaves their names, and the browser's cached copies, as they were.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

const SOURCEMAPS = resolve(import.meta.dirname, "build/sourcemaps");

function sourceMapsOutsideStatic(): Plugin {
  return {
    name: "torchcanvas-sourcemaps-outside-static",
    apply: "build",
    generateBundle(_options, bundle) {
      rmSync(SOURCEMAPS, { recursive: true, force: true });
      for (const [fileName, file] of Object.entries(bundle)) {
        if (file.type !== "asset" || !fileName.endsWith(".map")) continue;
        mkdirSync(dirname(resolve(SOURCEMAPS, fileName)), { recursive: true });
        writeFileSync(resolve(SOURCEMAPS, fileName), file.source);
        delete bundle[fileName];
      }
    },
  };
}

// Chunk name → the packages in it, first match wins. React Flow's chunk takes its own dependencies (d3, zustand
// and the React shim zustand uses); CodeMirror's and uPlot's load only with the panels that need them.
const VENDOR: [string, RegExp][] = [
  ["react", /[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/],
  ["xyflow", /[\\/]node_modules[\\/](@xyflow[\\/]|d3-|zustand|classcat|use-sync-external-store)/],
  ["dagre", /[\\/]node_modules[\\/]@dagrejs[\\/]/],
  ["codemirror", /[\\/]node_modules[\\/](codemirror|@codemirror|@lezer|style-mod|w3c-keyname|crelt)[\\/]/],
  ["uplot", /[\\/]node_modules[\\/]uplot[\\/]/],
];

export default defineConfig({
  plugins: [react(), sourceMapsOutsideStatic()],
  base: "/static/dist/",
  build: {
    outDir: "../static/dist",
    emptyOutDir: true,
    manifest: true,
    sourcemap: "hidden",
    rolldownOptions: {
      input: "src/main.tsx",
      output: {
        // Hex hashes, so torchcanvas_site/staticfiles.py can tell a hashed name from a chunk's own name.
        hashCharacters: "hex",
        entryFileNames: "canvas-[hash].js",
        chunkFileNames: "canvas-[name]-[hash].js",
        assetFileNames: "canvas-[name]-[hash][extname]",
        codeSplitting: {
          groups: VENDOR.map(([name, test], i) => ({ name: `vendor-${name}`, test, priority: VENDOR.length - i })),
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
