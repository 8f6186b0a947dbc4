// A subset of GET /api/registry/ (codegen.registry_json()) for unit tests: registry.json, kept equal to the
// engine's by tests/codegen/test_canvas_registry_fixture.py (UPDATE_GOLDEN=1 regenerates it).
import type { Registry } from "../graph";
import data from "./registry.json";

export const REGISTRY = data as unknown as Registry;
