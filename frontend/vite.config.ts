// Builds two entries into ../static/dist/: the canvas island (src/main.tsx) and the run pages' script
// (src/runpages/main.ts, no React; it shares src/lib/ with the canvas's run panel). Every file is named by a hash
// of its content (so the chunks import each other by final names and WhiteNoise can cache them forever), plus
// .vite/manifest.json, through which templates find an entry ({% frontend_assets "canvas" %} in
// graphs/templatetags/frontend.py). Django's manifest storage leaves these names alone (torchcanvas_site/staticfiles.py).
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
      // Entry name → source; the templates name the source (graphs/templatetags/frontend.py ENTRIES).
      input: { canvas: "src/main.tsx", runpages: "src/runpages/main.ts" },
      output: {
        // Hex hashes, so torchcanvas_site/staticfiles.py can tell a hashed name from a chunk's own name.
        hashCharacters: "hex",
        entryFileNames: "[name]-[hash].js",
        chunkFileNames: "[name]-[hash].js",
        assetFileNames: "[name]-[hash][extname]",
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
